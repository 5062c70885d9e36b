# fish completion for bus(1), the command-line client of busd.
#
# Completes what completions/bus.bash completes: verbs, options (global and
# per verb) and their fixed values, and what the bus itself knows: well-known
# names for `call`, `introspect`, `serve`, `wait` and `monitor --name` (`bus
# list`), a destination's methods for `call` (`bus introspect`), and the
# command after `serve ... --`. The bus is asked with the --address/--system/
# --seqpacket given on the command line and a short timeout, so a missing or
# slow bus only means no suggestions. Keep the verbs and options in step with
# bus.bash and _bus (zsh): tests/integration/cli_completion_test.py checks all
# three against `bus --help`.
#
# Installed as bus.fish into fish's vendor completions directory (Debian:
# /usr/share/fish/vendor_completions.d).

# The words after `bus` up to the cursor that are not options or option
# arguments: the verb, then its arguments (one a line); stops at `--`.
function __bus_words
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -a --address -t --timeout --color -n --count --jobs --declare --params-shape --result-shape \
                --event --name --sender --topic --type --pcapng --dir --uid --user --gid --groups
                set skip 1
            case --
                return
            case '-*'
            case '*'
                echo $t
        end
    end
end

function __bus_no_verb
    test (count (__bus_words)) -eq 0
end

# __bus_verb_is VERB [N]: the verb is VERB (and N arguments follow it)
function __bus_verb_is
    set -l w (__bus_words)
    test (count $w) -ge 1; and test "$w[1]" = $argv[1]; or return 1
    test (count $argv) -lt 2; or test (math (count $w) - 1) -eq $argv[2]
end

# serve NAME METHOD -- ...: the cursor is after the `--`
function __bus_in_command
    set -l t (commandline -opc)
    contains -- serve $t; and contains -- -- $t
end

# $argv: a bus verb and its arguments; prints compact JSON or nothing
function __bus_query
    set -l t (commandline -opc)
    set -l args
    for i in (seq 2 (count $t))
        switch $t[$i]
            case --system -S --seqpacket
                set -a args $t[$i]
            case -a --address
                test $i -lt (count $t); and set -a args --address $t[(math $i + 1)]
            case '--address=*'
                set -a args $t[$i]
        end
    end
    $t[1] $args --timeout 1000 --json --compact $argv 2>/dev/null
end

# well-known names on the bus, and the daemon's own
function __bus_names
    set -l json (__bus_query list | string collect); or return
    echo org.busd
    string replace -r '"peers":.*' '' -- $json | string match -ar '"name":"[^"]*"' | string replace -r '^"name":"(.*)"$' '$1'
end

# the methods that call's destination declared
function __bus_methods
    set -l w (__bus_words)
    set -q w[2]; or return
    set -l json (__bus_query introspect $w[2] | string collect); or return
    # a method is {"name":... right after [ or , (not a "params" shape)
    string replace -r '^.*?"methods":' '' -- $json | string match -ar '[[,]\{"name":"[^"]*"' | string replace -r '^.\{"name":"(.*)"$' '$1'
end

# the command after serve ... --, with its own completion
function __bus_command
    set -l rest
    set -l seen 0
    for t in (commandline -opc)
        if test $seen = 1
            set -a rest $t
        else if test "$t" = --
            set seen 1
        end
    end
    set -a rest (commandline -ct)
    complete -C (string join -- ' ' (string escape -- $rest))
end

complete -c bus -f
complete -c bus -n __bus_in_command -a '(__bus_command)'

# options of every verb (before or after it)
complete -c bus -s a -l address -r -F -a 'unix: seqpacket:' -d 'the bus: unix:/path, seqpacket:/path or /path'
complete -c bus -l system -d 'the system bus'
complete -c bus -s S -l seqpacket -d "use the bus's seqpacket socket"
complete -c bus -s t -l timeout -x -d 'how long to wait: ms, 500ms, 5s, 1min'
complete -c bus -s j -l json -d 'JSON output'
complete -c bus -l text -d 'text output (tables)'
complete -c bus -s p -l pretty -d 'indented JSON'
complete -c bus -s c -l compact -d 'one-line JSON'
complete -c bus -l color -x -a 'auto always never' -d 'colour output'
complete -c bus -l full -d 'tables: every cell whole, not cut to the terminal'
complete -c bus -s h -l help -d 'show the help'
complete -c bus -s V -l version -d 'print the version'

# verbs
complete -c bus -n __bus_no_verb -a call -d 'call a method and print its result'
complete -c bus -n __bus_no_verb -a publish -d 'publish an event'
complete -c bus -n __bus_no_verb -a listen -d 'print events matching the patterns'
complete -c bus -n __bus_no_verb -a wait -d 'wait until names have owners, or for one event'
complete -c bus -n __bus_no_verb -a serve -d 'answer calls of NAME.METHOD by running a command'
complete -c bus -n __bus_no_verb -a list -d 'list the names on the bus and their owners'
complete -c bus -n __bus_no_verb -a introspect -d 'show the methods a name declares'
complete -c bus -n __bus_no_verb -a status -d "show the daemon's counters and connections"
complete -c bus -n __bus_no_verb -a metrics -d "print the daemon's counters (OpenMetrics)"
complete -c bus -n __bus_no_verb -a ping -d 'check that the daemon answers'
complete -c bus -n __bus_no_verb -a monitor -d 'watch the traffic on the bus'
complete -c bus -n __bus_no_verb -a policy -d 'explain what the access policy lets a user do'
complete -c bus -n __bus_no_verb -a help -d 'show the help of a verb'

# call DEST METHOD [JSON]
complete -c bus -n '__bus_verb_is call' -l oneway -d 'send a one-way call: no answer'
complete -c bus -n '__bus_verb_is call' -s r -l raw -d 'print a string result without JSON quotes'
complete -c bus -n '__bus_verb_is call 0' -a '(__bus_names)'
complete -c bus -n '__bus_verb_is call 1' -a '(__bus_methods)'

# listen PATTERN...
complete -c bus -n '__bus_verb_is listen' -s n -l count -x -d 'exit after N events'
complete -c bus -n '__bus_verb_is listen' -l ready -d 'print ready on stderr once subscribed'
complete -c bus -n '__bus_verb_is listen' -l lossy -d 'let the bus drop events when this listener is slow'

# wait NAME... | --event PATTERN
complete -c bus -n '__bus_verb_is wait' -l event -x -d 'wait for one event matching PATTERN'
complete -c bus -n '__bus_verb_is wait' -l ready -d 'with --event: print ready on stderr once subscribed'
complete -c bus -n '__bus_verb_is wait' -a '(__bus_names)'

# serve NAME METHOD -- COMMAND [ARGS...]
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l declare -x -d 'description of METHOD'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l params-shape -x -d 'shape of the params (JSON)'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l result-shape -x -d 'shape of the result (JSON)'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l jobs -x -d 'commands running at once'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l allow-replacement -d 'let another bus serve --replace take NAME over'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l replace -d 'take NAME over if its owner allows replacement'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l queue -d 'wait in the queue of NAME if it is owned'
complete -c bus -n '__bus_verb_is serve; and not __bus_in_command' -l ready -d 'print ready on stderr once NAME is owned'
complete -c bus -n '__bus_verb_is serve 0' -a '(__bus_names)'
complete -c bus -n '__bus_verb_is serve 2; and not __bus_in_command' --arguments=-- -d 'then the command'

# list, introspect NAME, metrics
complete -c bus -n '__bus_verb_is list' -l peers -d 'list the connections rather than the names'
complete -c bus -n '__bus_verb_is introspect 0' -a '(__bus_names)'
complete -c bus -n '__bus_verb_is metrics' -l prometheus -d 'Prometheus text format 0.0.4'

# monitor [FILTERS]
complete -c bus -n '__bus_verb_is monitor' -l name -x -a '(__bus_names)' -d 'records to or from the owner of NAME'
complete -c bus -n '__bus_verb_is monitor' -l sender -x -d 'records whose sender is ID'
complete -c bus -n '__bus_verb_is monitor' -l topic -x -d 'events and publishes matching PATTERN'
complete -c bus -n '__bus_verb_is monitor' -l type -x -d 'records of these message types' \
    -a 'call reply error event publish subscribe unsubscribe hello welcome request_name release_name declare cancel dropped name_acquired name_lost monitor'
complete -c bus -n '__bus_verb_is monitor' -l pcapng -r -F -d 'also write the records to FILE as pcapng'
complete -c bus -n '__bus_verb_is monitor' -s n -l count -x -d 'exit after N records'
complete -c bus -n '__bus_verb_is monitor' -l ready -d 'print ready on stderr once the daemon monitors'

# policy check VERB [OBJECT [METHOD]] | verify
complete -c bus -n '__bus_verb_is policy' -l dir -x -a '(__fish_complete_directories)' -d 'the policy directory'
complete -c bus -n '__bus_verb_is policy' -l user-bus -d "the user bus's built-in policy"
complete -c bus -n '__bus_verb_is policy' -l uid -x -d 'who asks (a uid)'
complete -c bus -n '__bus_verb_is policy' -l user -x -a '(__fish_complete_users)' -d 'who asks'
complete -c bus -n '__bus_verb_is policy' -l gid -x -a '(__fish_complete_groups)' -d 'primary group'
complete -c bus -n '__bus_verb_is policy' -l groups -x -a '(__fish_complete_groups)' -d 'supplementary groups'
complete -c bus -n '__bus_verb_is policy 0' -a 'check verify'
complete -c bus -n '__bus_verb_is policy 1; and contains -- check (__bus_words)' \
    -a 'connect own call publish subscribe see backpressure monitor'

# help VERB
complete -c bus -n '__bus_verb_is help 0' -a 'call publish listen wait serve list introspect status metrics ping monitor policy'
