/* The I/O floor of benches/generator.sh: a program that does nothing but the file-system work a
 * generator run cannot avoid, so that the generator's wall time can be compared with it.
 *
 *   io_floor write  TREE OUT        make the output tree described by TREE under OUT: the same
 *                                   directories, files (same bytes) and symlinks, plain
 *                                   open/write/close, no atomic rename, no fsync
 *   io_floor read+write TREE OUT INPUT   first read every regular file under INPUT (the unit
 *                                   files a generator must read: walk + open/read/close), then
 *                                   the same as `write`
 *
 * TREE is a description made by generator.sh from a finished output tree, read in one go before
 * any work: records "d PATH\n", "l PATH\tTARGET\n", "f PATH\tLENGTH\n" + LENGTH bytes. It is C
 * (built with the C compiler cargo already needs) so that the floor pays no interpreter start-up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    fprintf(stderr, "io_floor: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) die("reading", path);
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) die("reading", path);
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* Reads every regular file under `dir` (symlinks followed, as the generator's walk does). */
static long read_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) die("opening", dir);
    long files = 0;
    static char buf[1 << 16];
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) die("opening", path);
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            files += read_tree(path);
            continue;
        }
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
        files++;
    }
    closedir(d);
    return files;
}

static void write_file(const char *path, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("creating", path);
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n <= 0) die("writing", path);
        data += n;
        len -= (size_t)n;
    }
    close(fd);
}

/* Replays the TREE description under `out`. */
static void write_tree(char *tree, size_t len, const char *out) {
    if (mkdir(out, 0755) < 0) die("making", out);
    char *p = tree, *end = tree + len;
    char path[4096];
    while (p < end) {
        char kind = p[0];
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || p[1] != ' ') die("bad tree description near", p);
        *nl = 0;
        char *name = p + 2, *tab = strchr(name, '\t');
        if (tab) *tab = 0;
        snprintf(path, sizeof path, "%s/%s", out, name);
        if (kind == 'd') {
            if (mkdir(path, 0755) < 0) die("making", path);
            p = nl + 1;
        } else if (kind == 'l' && tab) {
            if (symlink(tab + 1, path) < 0) die("linking", path);
            p = nl + 1;
        } else if (kind == 'f' && tab) {
            size_t n = strtoul(tab + 1, NULL, 10);
            write_file(path, nl + 1, n);
            p = nl + 1 + n;
        } else {
            die("bad tree record for", name);
        }
    }
}

int main(int argc, char **argv) {
    int read_first = argc == 5 && !strcmp(argv[1], "read+write");
    if (!(argc == 4 && !strcmp(argv[1], "write")) && !read_first) {
        fprintf(stderr, "usage: io_floor write TREE OUT | io_floor read+write TREE OUT INPUT\n");
        return 2;
    }
    size_t len;
    char *tree = slurp(argv[2], &len);
    if (read_first && read_tree(argv[4]) == 0) {
        fprintf(stderr, "io_floor: no files under %s\n", argv[4]);
        return 1;
    }
    write_tree(tree, len, argv[3]);
    return 0;
}
