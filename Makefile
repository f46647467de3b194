# quadplay — build and install.
#   make                      build release binaries
#   make install PREFIX=/usr DESTDIR=...   install (see below); make uninstall
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
CARGO ?= cargo
CARGO_TARGET_DIR ?= target
RELEASE := $(CARGO_TARGET_DIR)/release

.PHONY: all build install uninstall check

all: build

# The generator writes ExecStart=$(BINDIR)/quadplay into units: the path is fixed at build time.
# (cargo tracks option_env! values, so a different BINDIR rebuilds the crate.)
build:
	QUADPLAY_BINDIR=$(BINDIR) $(CARGO) build --release --locked

install: build
	install -D -m 0755 $(RELEASE)/quadplay $(DESTDIR)$(BINDIR)/quadplay
	install -D -m 0755 $(RELEASE)/quadplay-generator $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator
	install -d $(DESTDIR)$(LIBDIR)/systemd/system-generators $(DESTDIR)$(LIBDIR)/systemd/user-generators
	ln -sfr $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator $(DESTDIR)$(LIBDIR)/systemd/system-generators/quadplay-system-generator
	ln -sfr $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator $(DESTDIR)$(LIBDIR)/systemd/user-generators/quadplay-user-generator

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/quadplay $(DESTDIR)$(LIBEXECDIR)/quadplay/quadplay-generator
	rm -f $(DESTDIR)$(LIBDIR)/systemd/system-generators/quadplay-system-generator
	rm -f $(DESTDIR)$(LIBDIR)/systemd/user-generators/quadplay-user-generator
	-rmdir $(DESTDIR)$(LIBEXECDIR)/quadplay

check:
	$(CARGO) test --locked
