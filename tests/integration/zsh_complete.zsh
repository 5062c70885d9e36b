# zsh_complete.zsh: the candidates zsh's completion system offers for a line.
# Usage: zsh -f zsh_complete.zsh COMPLETIONS_DIR LINE
#
# Completion runs only inside the line editor, so this starts an interactive
# zsh on a pseudo-terminal (zsh/zpty) with COMPLETIONS_DIR first in $fpath,
# types LINE and Tab, and prints one candidate a line: a compadd wrapper in
# that shell prints what each compadd call adds, between two NUL lines that
# the completion's pre- and post-functions print. (The technique of
# github.com/Valodim/zsh-capture-completion.) For cli_completion_test.py.
zmodload zsh/zpty || exit 2
dir=$1 line=$2
init=$(mktemp) || exit 2
trap 'rm -f $init' EXIT
cat >$init <<EOF
PROMPT= RPROMPT=
unset zle_bracketed_paste
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit
compinit -u -D
bindkey '^I' complete-word
_capture_mark() { print -rn -- \$'\0\n' }
compprefuncs=(_capture_mark)
comppostfuncs=(_capture_mark exit)
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
  # calls that only ask (-O/-A/-D put the matches into an array) pass through
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "\$@"
    return
  fi
  local -a added
  builtin compadd -A added "\$@"
  (( \$#added )) && print -rl -- \$added
}
print INIT-DONE
EOF
zpty shell zsh -f -i
zpty -w shell "source ${(q)init}"
local out
repeat 8; do
  zpty -r shell out || exit 2
  [[ $out == INIT-DONE* ]] && break
done
[[ $out == INIT-DONE* ]] || { print -u2 "zsh_complete: the shell did not start"; exit 2 }
zpty -w -n shell "$line"$'\t'
integer marks=0
# zpty -r without a parameter copies the output to stdout, until the shell exits
while zpty -r shell; do :; done | while IFS= read -r out; do
  out=${out%$'\r'}
  if [[ $out == *$'\0' ]]; then  # (the first after the echoed line)
    (( marks++ )) && exit 0
    continue
  fi
  (( marks )) && print -r -- $out
done
exit 2
