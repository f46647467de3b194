#!/usr/bin/env bash
# Man pages and shell completions, as installed by `make install`: every page renders with
# `groff -ww` without a warning, `man` finds each name (the .so links included), and the generated
# completion scripts load in their shells and complete our subcommands.
source "$(dirname "$0")/lib.sh"
install_quadplay
mandir=$PREFIX/share/man

for page in man1/quadplay.1 man5/quadplay.unit.5 man8/quadplay-generator.8; do
  [ -f "$mandir/$page" ] || fail "$mandir/$page not installed"
  err=$(groff -ww -man -Tutf8 "$mandir/$page" 2>&1 >/dev/null)
  [ -z "$err" ] || fail "$page: groff warnings: $err"
  ok "$page renders with groff -ww, no warnings"
done

# Each name resolves, and the per-kind names lead to quadplay.unit(5)'s text.
for name in quadplay quadplay-auto-update quadplay-convert quadplay-generator quadplay.unit quadplay.kube quadplay.container quadplay.network \
            quadplay.volume quadplay.pod; do
  text=$(MANPATH=$mandir MANWIDTH=100 man "$name" 2>/tmp/50-man.err | col -b) \
    || fail "man $name: $(cat /tmp/50-man.err)"
  [ -s /tmp/50-man.err ] && fail "man $name wrote to stderr: $(cat /tmp/50-man.err)"
  case $name in quadplay.kube|quadplay.pod) grep -q 'KUBE UNITS' <<<"$text" || fail "man $name: not the unit page";; esac
done
ok "man finds quadplay, quadplay-generator, quadplay.unit and its five .so names"

# Every subcommand and option of the CLI is on quadplay(1).
page=$(MANPATH=$mandir MANWIDTH=200 man quadplay 2>/dev/null | col -b)
for w in 'quadplay play' 'quadplay down' 'quadplay auto-update' 'quadplay doctor' 'quadplay convert' \
         'quadplay generate' 'quadplay completions' --exit-code-propagation --stop-timeout --podman-global-arg; do
  grep -qF -- "$w" <<<"$page" || fail "quadplay(1) lacks $w"
done
ok "quadplay(1) documents every subcommand (spot-checked options)"

# bash: load the installed script and ask it to complete `quadplay co`.
bashcomp=$PREFIX/share/bash-completion/completions/quadplay
words=$(bash -c "source '$bashcomp'; COMP_WORDS=(quadplay co); COMP_CWORD=1; COMP_LINE='quadplay co'; COMP_POINT=11; _quadplay quadplay co quadplay; printf '%s\n' \"\${COMPREPLY[@]}\"")
grep -qx convert <<<"$words" && grep -qx completions <<<"$words" || fail "bash completion of 'quadplay co' gave: $words"
ok "bash completes 'quadplay co' to: $(echo $words)"

zshcomp=$PREFIX/share/zsh/site-functions/_quadplay
fishcomp=$PREFIX/share/fish/vendor_completions.d/quadplay.fish
grep -q '^#compdef quadplay' "$zshcomp" || fail "zsh script lacks #compdef"
if command -v zsh >/dev/null; then zsh -n "$zshcomp" || fail "zsh -n $zshcomp"; fi
grep -q 'complete -c quadplay .*auto-update' "$fishcomp" || fail "fish script lacks auto-update"
if command -v fish >/dev/null; then
  fish -n "$fishcomp" || fail "fish -n $fishcomp"
  got=$(fish -c "source '$fishcomp'; complete -C 'quadplay co'" | cut -f1)
  grep -qx convert <<<"$got" || fail "fish completion of 'quadplay co' gave: $got"
fi
ok "zsh and fish scripts generated$(command -v zsh >/dev/null || echo ' (zsh not installed: syntax not checked)')$(command -v fish >/dev/null || echo ' (fish not installed: syntax not checked)')"
