# quadplay — build, documentation, install, packages.
#
#   make                                   release binaries, man pages, completions
#   make install PREFIX=/usr DESTDIR=...   install everything (see "install" below); make uninstall
#   make && sudo make install NO_BUILD=1   install without running cargo as root
#   make install MASK_PODMAN_QUADLET=1     also mask Podman's own Quadlet generator (same service names)
#   make check-man                         render every man page with groff -ww; fail on any warning
#   make deb                               Debian package (dpkg-buildpackage, offline) into dist/
#   make rpm                               RPM (rpmbuild, offline, vendored crates) into dist/
#   make rpm-check                         rpmspec -P and rpmlint on packaging/rpm/quadplay.spec
#   PROFILE=debug make ...                 debug build instead of release (faster to build)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
CARGO ?= cargo
CARGO_FLAGS ?= --locked
CARGO_TARGET_DIR ?= target
PROFILE ?= release
MASK_PODMAN_QUADLET ?=

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
OUT := $(CARGO_TARGET_DIR)/$(PROFILE)
ifeq ($(PROFILE),release)
PROFILE_FLAG := --release
else
PROFILE_FLAG := --profile $(PROFILE)
endif
ifeq ($(PROFILE),debug)
PROFILE_FLAG :=
endif
BUILD := build
MAN_SRC := $(wildcard man/*.md)
MAN_PAGES := $(patsubst man/%.md,$(BUILD)/man/%,$(MAN_SRC))
# quadplay.unit(5) documents every kind; these names lead to it.
MAN_LINKS := quadplay.kube.5 quadplay.container.5 quadplay.network.5 quadplay.volume.5 quadplay.pod.5
# quadplay(1) documents every subcommand; git-style names (man quadplay-auto-update) lead to it.
MAN1_LINKS := quadplay-play.1 quadplay-down.1 quadplay-auto-update.1 quadplay-doctor.1 quadplay-generate.1 \
	quadplay-convert.1 quadplay-completions.1
COMPLETIONS := $(BUILD)/completions/quadplay.bash $(BUILD)/completions/_quadplay $(BUILD)/completions/quadplay.fish
UNITS := $(wildcard units/*.service units/*.timer)
QUADPLAY := $(OUT)/quadplay

.PHONY: all build man completions check-man install uninstall check deb rpm rpm-check clean

all: build man completions

# The generator writes ExecStart=$(BINDIR)/quadplay into units: the path is fixed at build time.
# (cargo tracks option_env! values, so a different BINDIR rebuilds the crate.)
build:
	QUADPLAY_BINDIR=$(BINDIR) $(CARGO) build $(PROFILE_FLAG) $(CARGO_FLAGS) -p quadplay --bins

$(QUADPLAY): build

man: $(MAN_PAGES)

# Every page is man/*.md converted by the xtask crate (no pandoc needed); quadplay(1) gets its
# COMMANDS section from the CLI definition (src/cli/mod.rs), so it cannot drift from the binary.
$(MAN_PAGES) &: $(MAN_SRC) src/cli/mod.rs
	@mkdir -p $(BUILD)/man
	QUADPLAY_BINDIR=$(BINDIR) $(CARGO) run $(PROFILE_FLAG) $(CARGO_FLAGS) -q -p xtask -- man man $(BUILD)/man >/dev/null

completions: $(COMPLETIONS)

$(BUILD)/completions/quadplay.bash: build
	@mkdir -p $(BUILD)/completions
	$(QUADPLAY) completions bash > $@
$(BUILD)/completions/_quadplay: build
	@mkdir -p $(BUILD)/completions
	$(QUADPLAY) completions zsh > $@
$(BUILD)/completions/quadplay.fish: build
	@mkdir -p $(BUILD)/completions
	$(QUADPLAY) completions fish > $@

# Every page must render without a single groff warning (stderr empty).
check-man: man
	@set -e; for p in $(MAN_PAGES); do \
	  err=$$(groff -ww -man -Tutf8 $$p 2>&1 >/dev/null); \
	  if [ -n "$$err" ]; then echo "$$p: $$err" >&2; exit 1; fi; \
	  echo "ok: $$p renders without warnings"; \
	done

# `make && sudo make install NO_BUILD=1` installs what the user built without running cargo as root
# (root usually has no Rust toolchain); without NO_BUILD, install builds first.
install: $(if $(NO_BUILD),,all)
	install -D -m 0755 $(OUT)/quadplay $(DESTDIR)$(BINDIR)/quadplay
	install -D -m 0755 $(OUT)/quadplay-generator $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator
	install -d $(DESTDIR)$(LIBDIR)/systemd/system-generators $(DESTDIR)$(LIBDIR)/systemd/user-generators
	ln -sfr $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator $(DESTDIR)$(LIBDIR)/systemd/system-generators/quadplay-system-generator
	ln -sfr $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator $(DESTDIR)$(LIBDIR)/systemd/user-generators/quadplay-user-generator
	@# The same auto-update units serve the system and the user manager.
	@set -e; for u in $(UNITS); do \
	  for m in system user; do \
	    install -d $(DESTDIR)$(LIBDIR)/systemd/$$m; \
	    sed 's|/usr/bin/quadplay|$(BINDIR)/quadplay|g' $$u > $(DESTDIR)$(LIBDIR)/systemd/$$m/$$(basename $$u); \
	    chmod 0644 $(DESTDIR)$(LIBDIR)/systemd/$$m/$$(basename $$u); \
	  done; \
	done
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	@set -e; for p in $(MAN_PAGES); do \
	  s=$${p##*.}; install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	@set -e; for l in $(MAN_LINKS); do \
	  echo '.so man5/quadplay.unit.5' > $(DESTDIR)$(MANDIR)/man5/$$l; chmod 0644 $(DESTDIR)$(MANDIR)/man5/$$l; \
	done
	@set -e; for l in $(MAN1_LINKS); do \
	  echo '.so man1/quadplay.1' > $(DESTDIR)$(MANDIR)/man1/$$l; chmod 0644 $(DESTDIR)$(MANDIR)/man1/$$l; \
	done
	install -D -m 0644 $(BUILD)/completions/quadplay.bash $(DESTDIR)$(BASHCOMPDIR)/quadplay
	install -D -m 0644 $(BUILD)/completions/_quadplay $(DESTDIR)$(ZSHCOMPDIR)/_quadplay
	install -D -m 0644 $(BUILD)/completions/quadplay.fish $(DESTDIR)$(FISHCOMPDIR)/quadplay.fish
ifneq ($(MASK_PODMAN_QUADLET),)
	@# Podman's generator would write services of the same names from the same files.
	install -d $(DESTDIR)$(SYSCONFDIR)/systemd/system-generators $(DESTDIR)$(SYSCONFDIR)/systemd/user-generators
	ln -sfn /dev/null $(DESTDIR)$(SYSCONFDIR)/systemd/system-generators/podman-system-generator
	ln -sfn /dev/null $(DESTDIR)$(SYSCONFDIR)/systemd/user-generators/podman-user-generator
endif

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/quadplay $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator
	-rmdir $(DESTDIR)$(LIBEXECDIR)/quadplay
	rm -f $(DESTDIR)$(LIBDIR)/systemd/system-generators/quadplay-system-generator
	rm -f $(DESTDIR)$(LIBDIR)/systemd/user-generators/quadplay-user-generator
	@set -e; for u in $(UNITS); do \
	  rm -f $(DESTDIR)$(LIBDIR)/systemd/system/$$(basename $$u) $(DESTDIR)$(LIBDIR)/systemd/user/$$(basename $$u); \
	done
	rm -f $(DESTDIR)$(MANDIR)/man1/quadplay.1 $(DESTDIR)$(MANDIR)/man8/quadplay-generator.8 $(DESTDIR)$(MANDIR)/man5/quadplay.unit.5
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(MAN_LINKS)) $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(MAN1_LINKS))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/quadplay $(DESTDIR)$(ZSHCOMPDIR)/_quadplay $(DESTDIR)$(FISHCOMPDIR)/quadplay.fish
	@# Only our own masks: a link to /dev/null; anything else there belongs to the administrator.
	@for g in system-generators/podman-system-generator user-generators/podman-user-generator; do \
	  l=$(DESTDIR)$(SYSCONFDIR)/systemd/$$g; \
	  if [ -n "$(MASK_PODMAN_QUADLET)" ] && [ "$$(readlink $$l)" = /dev/null ]; then rm -f $$l; echo "rm -f $$l"; fi; \
	done

check:
	$(CARGO) test $(CARGO_FLAGS)

# The Debian package is built from a copy of the tree with packaging/debian as debian/, offline
# (cargo's registry cache in $$CARGO_HOME must already hold the dependencies). The cargo on PATH
# (rustup's) is passed through, and the target dir is shared so dependencies are not rebuilt.
DEB_SRC := $(BUILD)/deb/quadplay-$(VERSION)
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC) dist
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	cp -r packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && env CARGO_TARGET_DIR=$(abspath $(CARGO_TARGET_DIR)) \
	  CARGO_HOME=$${CARGO_HOME:-$$HOME/.cargo} RUSTUP_HOME=$${RUSTUP_HOME:-$$HOME/.rustup} \
	  PATH=$$(dirname $$(command -v $(CARGO))):$$PATH \
	  dpkg-buildpackage -b -us -uc $(DEB_BUILD_FLAGS)
	mv $(BUILD)/deb/quadplay_$(VERSION)_*.deb $(BUILD)/deb/quadplay_$(VERSION)_*.buildinfo $(BUILD)/deb/quadplay_$(VERSION)_*.changes dist/
	@ls -l dist/

# The RPM from the committed tree (HEAD) and vendored crates, offline. On a non-RPM host (this
# Debian machine) pass RPMBUILD_FLAGS=--nodeps and stub the systemd scriptlet macros, see .ci notes.
RPM_TOP := $(abspath $(BUILD)/rpm)
rpm:
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES $(RPM_TOP)/vendor-src dist
	git archive --prefix=quadplay-$(VERSION)/ -o $(RPM_TOP)/SOURCES/quadplay-$(VERSION).tar.gz HEAD
	$(CARGO) vendor --locked --offline $(RPM_TOP)/vendor-src/vendor >/dev/null
	tar -C $(RPM_TOP)/vendor-src -czf $(RPM_TOP)/SOURCES/quadplay-$(VERSION)-vendor.tar.gz vendor
	rpmbuild -bb --define "_topdir $(RPM_TOP)" $(RPMBUILD_FLAGS) packaging/rpm/quadplay.spec
	cp $(RPM_TOP)/RPMS/*/quadplay-$(VERSION)-*.rpm dist/
	@ls -l dist/*.rpm

rpm-check:
	rpmspec -P packaging/rpm/quadplay.spec >/dev/null && echo "ok: rpmspec -P parses packaging/rpm/quadplay.spec"
	rpmlint packaging/rpm/quadplay.spec

clean:
	rm -rf $(BUILD) dist
	$(CARGO) clean
