# bash completion for bus(1), the command-line client of busd.
#
# Completes verbs, options (global and per verb) and their fixed values, and
# asks the bus itself for what it knows: well-known names for `call`,
# `introspect` and `serve` (`bus list`), a destination's methods for `call`
# (`bus introspect`), and commands after `serve ... --`. The bus is asked with
# the --address/--system/--seqpacket given on the command line and a short
# timeout, so a missing or slow bus only means no suggestions.
#
# Works with or without the bash-completion package: its _init_completion,
# __ltrim_colon_completions and _command_offset are used when loaded, else
# the small equivalents below. Keep the verbs and options in step with
# completions/_bus (zsh) and completions/bus.fish: tests/integration/
# cli_completion_test.py checks all three against `bus --help`.
#
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)): the completion idiom

_bus_query()
{
        # $1...: a bus verb and its arguments; prints compact JSON or nothing
        local i bus_args=()
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --system | -S | --seqpacket) bus_args+=("${words[i]}") ;;
                -a | --address) bus_args+=(--address "${words[i + 1]}") ;;
                --address=*) bus_args+=("${words[i]}") ;;
                esac
        done
        "${words[0]}" "${bus_args[@]}" --timeout 1000 --json --compact "$@" 2>/dev/null
}

_bus_names()
{
        # well-known names on the bus, and the daemon's own
        local json
        json=$(_bus_query list) || return
        json=${json%%\"peers\":*}
        printf '%s\n' org.busd
        grep -o '"name":"[^"]*"' <<<"$json" | sed 's/^"name":"//; s/"$//'
}

_bus_methods()
{
        # methods that $1 declared
        local json
        json=$(_bus_query introspect "$1") || return
        json=${json#*\"methods\":}
        # a method is {"name":... right after [ or , (not a "params" shape)
        grep -oE '[[,]\{"name":"[^"]*"' <<<"$json" | sed 's/^.{"name":"//; s/"$//'
}

_bus_init()
{
        # Without bash-completion: sets _bus's cur, prev, words and cword from
        # COMP_WORDS as `_init_completion -n :` does, joining again what bash
        # split at ':' (COMP_WORDBREAKS), so that unix:/path is one word. A
        # ':' piece is joined to its neighbours when no blank separates them
        # in COMP_LINE.
        local i w rest=$COMP_LINE glued
        words=()
        cword=0
        for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
                w=${COMP_WORDS[i]}
                glued=1
                if [[ $rest == [[:blank:]]* ]]; then
                        glued=0
                        rest=${rest#"${rest%%[![:blank:]]*}"}
                fi
                rest=${rest#"$w"}
                if ((i > 0 && glued)) && [[ $w == : || ${COMP_WORDS[i - 1]} == : ]]; then
                        words[${#words[@]} - 1]+=$w
                else
                        words+=("$w")
                fi
                ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
        done
        cur=${words[cword]}
        prev=${words[cword - 1]}
}

_bus_ltrim_colon()
{
        # __ltrim_colon_completions: bash replaces only the part of $1 after
        # its last ':', so the candidates lose what comes before it
        if declare -F __ltrim_colon_completions >/dev/null; then
                __ltrim_colon_completions "$1"
        elif [[ $1 == *:* && $COMP_WORDBREAKS == *:* ]]; then
                local colon_word=${1%"${1##*:}"} i
                for ((i = 0; i < ${#COMPREPLY[@]}; i++)); do
                        COMPREPLY[i]=${COMPREPLY[i]#"$colon_word"}
                done
        fi
}

_bus()
{
        local cur prev words cword
        if declare -F _init_completion >/dev/null; then
                _init_completion -n : || return
        else
                _bus_init
        fi

        local verbs="call publish listen wait serve list introspect status metrics ping monitor policy help"
        local global_opts="--address --system --seqpacket --timeout --json --text --pretty --compact --color --full --help --version"

        # An option's argument.
        case $prev in
        -a | --address)
                compopt -o nospace 2>/dev/null # (fails only outside a completion: tests)
                if [[ $cur == unix:* || $cur == seqpacket:* ]]; then
                        local scheme=${cur%%:*}
                        COMPREPLY=($(compgen -f -- "${cur#*:}"))
                        COMPREPLY=("${COMPREPLY[@]/#/$scheme:}")
                        _bus_ltrim_colon "$cur"
                else
                        COMPREPLY=($(compgen -W "unix: seqpacket:" -- "$cur") $(compgen -f -- "$cur"))
                fi
                return
                ;;
        --dir)
                COMPREPLY=($(compgen -d -- "$cur"))
                return
                ;;
        --user)
                COMPREPLY=($(compgen -u -- "$cur"))
                return
                ;;
        --gid | --groups)
                COMPREPLY=($(compgen -g -- "$cur"))
                return
                ;;
        --uid | --sender | --topic)
                return
                ;;
        --name)
                COMPREPLY=($(compgen -W "$(_bus_names)" -- "$cur"))
                return
                ;;
        --type)
                COMPREPLY=($(compgen -W "call reply error event publish subscribe unsubscribe hello welcome \
                        request_name release_name declare cancel dropped name_acquired name_lost monitor" -- "$cur"))
                return
                ;;
        --pcapng)
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
        --color | --colour)
                COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
                return
                ;;
        -t | --timeout | -n | --count | --jobs | --declare | --params-shape | --result-shape | --event)
                return
                ;;
        esac

        # The verb, its position and the non-option words after it.
        local i verb="" args=() dashdash=0
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                -a | --address | -t | --timeout | --color | --colour | -n | --count | --jobs | --declare | \
                        --params-shape | --result-shape | --event | --name | --sender | --topic | --type | --pcapng | \
                        --dir | --uid | --user | --gid | --groups)
                        ((i++))
                        ;;
                --)
                        if [[ $verb == serve ]]; then
                                dashdash=$i
                                break
                        fi
                        ;;
                -*) ;;
                *)
                        if [[ -z $verb ]]; then
                                verb=${words[i]}
                        else
                                args+=("${words[i]}")
                        fi
                        ;;
                esac
        done

        # serve NAME METHOD -- COMMAND [ARGS...]: complete the command.
        if ((dashdash > 0)); then
                if declare -F _command_offset >/dev/null; then
                        _command_offset $((dashdash + 1))
                elif ((cword == dashdash + 1)); then
                        COMPREPLY=($(compgen -c -- "$cur" | sort -u))
                else
                        COMPREPLY=($(compgen -f -- "$cur"))
                fi
                return
        fi

        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
                fi
                return
        fi

        local verb_opts=""
        case $verb in
        call) verb_opts="--oneway --raw" ;;
        listen) verb_opts="--count --ready --lossy" ;;
        wait) verb_opts="--event --ready" ;;
        serve) verb_opts="--declare --params-shape --result-shape --jobs --allow-replacement --replace --queue --ready" ;;
        list) verb_opts="--peers" ;;
        metrics) verb_opts="--prometheus" ;;
        monitor) verb_opts="--name --sender --topic --type --pcapng --count --ready" ;;
        policy) verb_opts="--dir --user-bus --uid --user --gid --groups" ;;
        esac
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$verb_opts $global_opts" -- "$cur"))
                return
        fi

        case $verb,${#args[@]} in
        call,0 | introspect,0 | serve,0)
                COMPREPLY=($(compgen -W "$(_bus_names)" -- "$cur"))
                ;;
        wait,*)
                COMPREPLY=($(compgen -W "$(_bus_names)" -- "$cur"))
                ;;
        call,1)
                COMPREPLY=($(compgen -W "$(_bus_methods "${args[0]}")" -- "$cur"))
                ;;
        help,0)
                COMPREPLY=($(compgen -W "${verbs% help}" -- "$cur"))
                ;;
        policy,0)
                COMPREPLY=($(compgen -W "check verify" -- "$cur"))
                ;;
        policy,1)
                [[ ${args[0]} == check ]] && COMPREPLY=($(compgen -W "connect own call publish subscribe see backpressure monitor" -- "$cur"))
                ;;
        esac
        _bus_ltrim_colon "$cur"
} && complete -F _bus bus
