#!/usr/bin/python3
"""cli-pages — the man pages and bash completions of hubsync and hubspot-sim,
written from what the binaries print about themselves, so they can never
drift from the flag tables (coordinator/cli.c, sim/sim_config.c):

  hubsync help             the description, commands, credentials, tables,
                           exit codes
  hubsync help --markdown  every flag: its variable, default, commands, values
  hubsync help COMMAND     the flags that apply to COMMAND
  hubsync --version        the version in the page's header
  hubspot-sim --help       the simulator's description and options

Usage (make builds these into build/VARIANT/share; make check-man and make
check-completion test them):

  scripts/cli-pages.py man HUBSYNC             hubsync(1), roff, on stdout
  scripts/cli-pages.py sim-man SIM             hubspot-sim(1)
  scripts/cli-pages.py completion HUBSYNC      bash completion for hubsync
  scripts/cli-pages.py sim-completion SIM      bash completion for hubspot-sim
  scripts/cli-pages.py flags HUBSYNC           every flag name, one a line
  scripts/cli-pages.py sim-flags SIM           every option name, one a line

The page's date is SOURCE_DATE_EPOCH's (as dpkg-buildpackage sets it), else
the last commit's, else today's, so a build from one commit is reproducible.
"""
import datetime
import os
import re
import subprocess
import sys

# ---- what the binaries say -----------------------------------------------


def output(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def blocks(text):
    """The text's paragraphs (runs of lines between blank lines)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def split_flag_spec(spec):
    """'-o, --output FILE' → (['-o', '--output'], 'FILE')."""
    names, meta = [], []
    for word in spec.replace(",", " ").split():
        (names if word.startswith("-") and not meta else meta).append(word)
    return names, " ".join(meta)


def md_cells(row):
    """A Markdown table row's cells; '\\|' is a '|' inside a cell."""
    cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
    return [c.strip() for c in cells]


def parse_flag_table(md):
    """`hubsync help --markdown`: one dict per flag, in the table's order."""
    rows = [md_cells(line) for line in md.splitlines() if line.startswith("|")]
    head, body = rows[0], rows[2:]
    flags = []
    for cells in body:
        row = dict(zip(head, cells))
        spec = row["flag"].replace("`", "").replace("\\|", "|")
        names, meta = split_flag_spec(spec)
        env = row["env"].strip("`")
        flags.append({
            "names": names,
            "meta": meta,
            "env": "" if env in ("—", "-") else env,
            "default": row["default"],
            "commands": row["commands"],
            "accepted": row["accepted"],
        })
    return flags


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def parse_commands(block):
    """`hubsync help`'s "Commands" paragraph: [(name, description, own flags)]."""
    commands = []
    text_col = None
    for line in block[1:]:
        ind = indent_of(line)
        body = line.strip()
        if ind == 2:
            name, _, rest = body.partition(" ")
            text_col = len(line) - len(line[2 + len(name):].lstrip(" "))
            commands.append([name, rest.strip(), []])
        elif ind == text_col and body.startswith("-"):
            names, _ = split_flag_spec(re.split(r"\s{2,}", body)[0])
            commands[-1][2].extend(names)
        elif ind == text_col and not commands[-1][2]:
            commands[-1][1] += " " + body
    return [tuple(c) for c in commands]


def parse_entries(block):
    """'  NAME   text' entries with continuation lines deeper in: [(name, text)]."""
    entries = []
    for line in block[1:]:
        if indent_of(line) == 2:
            name, _, text = line.strip().partition("  ")
            entries.append([name.strip(), text.strip()])
        else:
            entries[-1][1] = (entries[-1][1] + " " + line.strip()).strip()
    return [tuple(e) for e in entries]


def parse_option_lines(lines):
    """Option lines ('  --flag META   help', continued deeper in, the help
    in one column): [(names, meta, help)]. A spec reaching into the help
    column has its help on the next line."""
    col = min((indent_of(l) for l in lines if indent_of(l) > 2), default=0)
    options = []
    for line in lines:
        if indent_of(line) == 2 and line.strip().startswith("-"):
            if col and len(line) > col and line[col - 1] == " " and line[col] != " ":
                spec, helptext = line[:col], line[col:]
            else:
                spec, helptext = line, ""
            names, meta = split_flag_spec(spec.strip())
            options.append([names, meta, helptext.strip()])
        elif indent_of(line) > 2 and options:
            options[-1][2] = (options[-1][2] + " " + line.strip()).strip()
    return [tuple(o) for o in options]


def parse_command_flags(text):
    """`hubsync help COMMAND`: the flags that apply to COMMAND, {name: help}
    in their order (the help without its trailing [$VARIABLE, default])."""
    para = next(p for p in blocks(text) if p[0].startswith("Flags"))
    flags = {}
    for names, _, helptext in parse_option_lines(para[1:]):
        for name in names:
            flags[name] = re.sub(r"\s*\[[^\]]*\]$", "", helptext)
    return flags


def hubsync_facts(binary):
    helptext = output(binary, "help")
    facts = {"version": output(binary, "--version").split()[-1]}
    facts["flags"] = parse_flag_table(output(binary, "help", "--markdown"))
    paras = blocks(helptext)
    facts["usage"] = paras[0][0].removeprefix("usage: ")
    facts["description"] = " ".join(l.strip() for l in paras[1])
    for para in paras[2:]:
        first = para[0]
        if first.startswith("Commands"):
            facts["commands"] = parse_commands(para)
        elif first.startswith("Credentials"):
            facts["credentials"] = parse_entries(para)
        elif first.startswith("Exit codes"):
            facts["exit_codes"] = parse_entries(para)
        elif first.startswith("Tables"):
            facts["tables_text"] = " ".join(l.strip() for l in para)
    facts["command_usage"] = {}
    facts["command_flags"] = {}
    facts["flag_help"] = {}
    for name, _, _ in facts["commands"]:
        text = output(binary, "help", name)
        facts["command_usage"][name] = text.splitlines()[0].removeprefix("usage: ")
        flags = parse_command_flags(text)
        facts["command_flags"][name] = list(flags)
        facts["flag_help"].update(flags)
    m = re.search(r"Defaults:\s*(.*?)\s*Engagement types \(([^)]*)\)", facts["tables_text"])
    facts["default_tables"] = m.group(1).split()
    facts["engagement_types"] = m.group(2).split()
    return facts


def sim_facts(binary):
    paras = blocks(output(binary, "--help"))
    facts = {"usage": paras[0][0].removeprefix("usage: ")}
    facts["description"] = " ".join(l.strip() for l in paras[1])
    options = []
    for para in paras[2:]:
        if not para[0].startswith("  -"):
            facts.setdefault("notes", []).append(" ".join(l.strip() for l in para))
            continue
        options += [{"names": n, "meta": m, "text": h} for n, m, h in parse_option_lines(para)]
    for o in options:
        m = re.search(r"\s*\[([^\]]*)\]$", o["text"])
        o["default"] = m.group(1) if m else ""
        o["text"] = o["text"][:m.start()] if m else o["text"]
    facts["options"] = options
    return facts


# ---- roff ------------------------------------------------------------------


def roff_text(s):
    """Plain text into roff: backslashes escaped, anything not ASCII named by
    its code point (so the page needs no preprocessor). A line of it that
    starts with '.' or "'" needs roff_line too."""
    s = s.replace("\\", "\\e")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in s)


def roff_code(s):
    """Bold, with '-' as the ASCII hyphen-minus, not hyphenated (\\%) but
    broken after a comma (\\:) if it must be: a list may be long."""
    code = roff_text(s).replace("-", "\\-").replace(",", ",\\:")
    return "\\%\\fB" + code + "\\fR"


def md_link(m):
    """A Markdown link in docs/CLI.md's table: its text, and the page it
    points to (a section's "below" is dropped: the page has no below)."""
    text, target = m.group(1), m.group(2)
    page = "docs/" + (target.split("#")[0] or "CLI.md")
    if text.strip("`") == page.removeprefix("docs/"):
        return "`" + page + "`"
    return f"{text} ({page})"


FLAG_WORD = re.compile(r"(?<![\w/.-])(--?[A-Za-z][\w-]*)")


def roff_md(s):
    """Markdown (code spans, links, bold) or plain help text into roff; a
    flag named in the text is set like a code span."""
    s = re.sub(r"\[([^\]]*)\]\(([^)]*)\)( below)?", md_link, s)
    s = s.replace("\\|", "|")
    out = []
    for i, part in enumerate(re.split(r"`([^`]*)`", s)):
        if i % 2:
            out.append(roff_code(part))
            continue
        for j, piece in enumerate(FLAG_WORD.split(part)):
            if j % 2:
                out.append(roff_code(piece))
                continue
            piece = re.sub(r"\*\*([^*]*)\*\*", "\x01\\1\x02", piece)
            out.append(roff_text(piece).replace("\x01", "\\fB").replace("\x02", "\\fR"))
    return "".join(out)


def roff_page(lines):
    """The page's text; \\% keeps a word from being hyphenated only at its
    start: inside a word (after a parenthesis) it is a place to break it."""
    return "".join(re.sub(r"(?<=\S)\\%", "", l) + "\n" for l in lines)


def roff_line(s):
    return "\\&" + s if s.startswith((".", "'")) else s


def roff_flag(names, meta):
    text = ", ".join(roff_code(n) for n in names)
    if meta:
        text += " \\fI" + roff_text(meta) + "\\fR"
    return text


def sentence(s):
    """'Mirrors X (Y).' → 'mirrors X' (a NAME line's description)."""
    s = re.sub(r" \([^)]*\)", "", s.split(". ")[0].rstrip("."))
    return s[0].lower() + s[1:]


def page_date():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            epoch = subprocess.run(["git", "log", "-1", "--format=%ct"], capture_output=True,
                                   text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = ""
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch else \
        datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y-%m-%d")


def th(name, version):
    # left-adjusted: justifying lines of long flags and URLs stretches them
    return [f'.TH {name.upper()} 1 "{page_date()}" "{name} {version}" "User Commands"', ".ad l"]


def tables_paragraphs(text):
    """`hubsync help`'s paragraph on tables, its default tables set apart."""
    m = re.fullmatch(r"(.*Defaults:)\s*(.*?)\s*(Engagement types.*)", text)
    if not m:
        return [".PP", roff_md(text)]
    return [".PP", roff_md(m.group(1)), ".RS", ", ".join(roff_code(t) for t in m.group(2).split()),
            ".RE", ".PP", roff_md(m.group(3))]


def hubsync_man(f):
    L = th("hubsync", f["version"])
    L += [".SH NAME", "hubsync \\- " + roff_text(sentence(f["description"]))]
    L += [".SH SYNOPSIS", ".nf"]
    for u in [f["usage"]] + [f["command_usage"][c] for c, _, _ in f["commands"]]:
        words = u.split()
        L += [" ".join(roff_code(w) if w.islower() else "[\\fI" + w[1:-1] + "\\fR]"
                       if w.startswith("[") else "\\fI" + roff_text(w) + "\\fR" for w in words)]
    L += [".fi"]
    L += [".SH DESCRIPTION", roff_md(f["description"])]
    L += [".PP", "A flag may stand before or after the command, and wins over its environment "
          "variable; " + roff_code("--flag value") + " and " + roff_code("--flag=value") +
          " are the same. " + roff_code("hubsync help") + " \\fICOMMAND\\fR prints the flags "
          "that apply to a command."]
    L += tables_paragraphs(f["tables_text"])
    L += [".SH COMMANDS"]
    for name, text, own in f["commands"]:
        L += [".TP", roff_code(name), roff_line(roff_md(text))]
        if own:
            L += [".br", "Its own flags: " + ", ".join(roff_code(n) for n in own) + "."]
    L += [".SH OPTIONS"]
    for fl in f["flags"]:
        helptext = f["flag_help"].get(fl["names"][-1], "")
        L += [".TP", roff_flag(fl["names"], fl["meta"])]
        if helptext:
            L += [roff_line(roff_md(helptext)), ".br"]
        L += ["Values: " + roff_md(fl["accepted"]) + "."]
        if fl["default"] not in ("—", ""):
            L += [".br", "Default: " + roff_md(fl["default"]) + "."]
        if fl["env"]:
            L += [".br", "Environment: " + roff_code(fl["env"]) + "."]
        L += [".br", "Commands: " + roff_md(fl["commands"]) + "."]
    L += [".SH ENVIRONMENT",
          "Credentials come only from the environment (or " + roff_code("--token-file") +
          "), never from the command line:"]
    for name, text in f["credentials"]:
        L += [".TP", roff_code(name), roff_line(roff_md(text))]
    L += [".PP", "Each flag's variable; a flag wins over it, an empty one counts as unset, and "
          "it is read only by the commands its flag applies to:"]
    for fl in f["flags"]:
        if fl["env"]:
            helptext = f["flag_help"].get(fl["names"][-1], "")
            L += [".TP", roff_code(fl["env"]),
                  roff_line(roff_md(helptext) + " (" + roff_flag(fl["names"], fl["meta"]) + ")")]
    db = next(fl for fl in f["flags"] if "--db" in fl["names"])
    L += [".SH FILES",
          ".TP", "\\fIDIR\\fR/data.mdb",
          "the mirror, an LMDB database, in the directory of " + roff_code("--db") +
          " (default " + roff_md(db["default"]) + ").",
          ".TP", "\\fIDIR\\fR/lock.mdb", "LMDB's reader table.",
          ".TP", "\\fIDIR\\fR/hubsync.lock",
          "the run lock: a second " + roff_code("setup") + " or " + roff_code("run") +
          " on the same database exits 4.",
          ".TP", "hubsync@.service, hubsync@.timer",
          "systemd template units, installed in the system unit directory: "
          "one sandboxed sync of portal \\fIPORTAL\\fR every 15 minutes (" +
          roff_code("systemctl enable --now") + " \\%\\fBhubsync@\\fIPORTAL\\fB.timer\\fR).",
          ".TP", "/etc/hubsync/\\fIPORTAL\\fR.token, /etc/hubsync/\\fIPORTAL\\fR.env",
          "the units' token (mode 0600) and optional environment file."]
    L += [".SH EXIT STATUS"]
    for code, text in f["exit_codes"]:
        L += [".TP", "\\fB" + code + "\\fR", roff_line(roff_md(text))]
    L += [".SH SEE ALSO", "\\fBhubspot\\-sim\\fR(1), \\fBsystemd.timer\\fR(5)", ".PP",
          "The full reference (commands, flags, formats, operations) is docs/CLI.md, "
          "docs/EXPORT.md and docs/OPERATIONS.md of the source tree; the Debian package "
          "installs them in /usr/share/doc/hubsync."]
    return roff_page(L)


def sim_man(f, version):
    L = th("hubspot-sim", version)
    L += [".SH NAME", "hubspot-sim \\- " + roff_text(sentence(f["description"]))]
    L += [".SH SYNOPSIS", roff_code("hubspot-sim") + " [\\fIoptions\\fR]"]
    L += [".SH DESCRIPTION", roff_md(f["description"]),
          ".PP", "SIGINT or SIGTERM stops it."]
    L += [".SH OPTIONS"]
    for o in f["options"]:
        L += [".TP", roff_flag(o["names"], o["meta"]), roff_line(roff_md(o["text"]))]
        if o["default"]:
            L += [".br", "Default: " + roff_code(o["default"]) + "."]
    for note in f.get("notes", []):
        L += [".PP", roff_line(roff_md(note))]
    L += [".SH EXIT STATUS",
          ".TP", "\\fB0\\fR", "stopped by SIGINT or SIGTERM, or " + roff_code("--help") + ".",
          ".TP", "\\fB1\\fR", "it could not start: the address in use or not permitted, "
          "unusable TLS files, a " + roff_code("--port-file") + " it cannot write.",
          ".TP", "\\fB2\\fR", "a bad option or value."]
    L += [".SH SEE ALSO", "\\fBhubsync\\fR(1)", ".PP",
          "docs/SIMULATOR.md of the source tree (endpoints, limits, faults, the admin API); "
          "the Debian package installs it in /usr/share/doc/hubspot\\-sim."]
    return roff_page(L)


# ---- bash completion -------------------------------------------------------


def value_kind(names, meta):
    """How a flag's value completes: dir, file, a word list, or nothing. F
    is a file only in a flag named so (--budget-fraction F is a number)."""
    if meta == "DIR":
        return "dir"
    if meta == "FILE" or (meta == "F" and any("file" in n for n in names)):
        return "file"
    words = meta.split("|")
    if len(words) > 1 and all(re.fullmatch(r"[a-z][a-z-]*", w) for w in words):
        return "words:" + " ".join(words)
    return ""


def bash_list(words):
    return '"' + " ".join(words) + '"'


COMPLETION_BODY = r'''
# _NAME_value FLAG CUR: completes FLAG's value; returns 1 if FLAG takes none.
_NAME_value() {
    local kind
    kind=$(_NAME_kind "$1") || return 1
    case $kind in
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$2")) ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
    words:*) COMPREPLY=($(compgen -W "${kind#words:}" -- "$2")) ;;
    list:*)
        # a comma-separated list: complete the element after the last comma
        local done=""
        [[ $2 == *,* ]] && done=${2%,*},
        COMPREPLY=($(compgen -P "$done" -W "${kind#list:}" -- "${2##*,}"))
        compopt -o nospace 2>/dev/null ;;
    *) COMPREPLY=() ;;
    esac
    return 0
}

_NAME() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    # --flag=value: bash splits at '=' (COMP_WORDBREAKS)
    if [[ $cur == = ]]; then
        _NAME_value "$prev" "" && return 0
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        _NAME_value "${COMP_WORDS[COMP_CWORD - 2]}" "$cur" && return 0
    elif [[ $prev == -* ]]; then
        _NAME_value "$prev" "$cur" && return 0
    fi
    _NAME_words "$cur"
}
'''


def completion_functions(name, kinds):
    fn = "_" + name.replace("-", "_")
    lines = [f"# {fn}_kind FLAG: prints how FLAG's value completes; fails if it takes none.",
             f"{fn}_kind() {{", "    case $1 in"]
    for kind, flags in kinds.items():
        lines.append(f"    {'|'.join(flags)}) echo {kind!r} ;;".replace("'", '"'))
    lines += ["    *) return 1 ;;", "    esac", "}"]
    return "\n".join(lines) + "\n" + COMPLETION_BODY.replace("_NAME", fn)


def flag_kinds(flags, special):
    kinds = {}
    for fl in flags:
        if not fl["meta"]:
            continue
        kind = special.get(fl["names"][-1]) or value_kind(fl["names"], fl["meta"])
        kinds.setdefault(kind, []).extend(fl["names"])
    return kinds


def header(name, source):
    return (f"# bash completion for {name}; generated by scripts/cli-pages.py from `{source}`\n"
            "# (do not edit: make rebuilds it from the binary).\n")


def hubsync_completion(f):
    core = sorted({t for table in f["default_tables"] for t in table.split("_")})
    types = core + f["engagement_types"]
    tables = f["default_tables"] + sorted(
        "_".join(sorted((e, c))) for e in f["engagement_types"] for c in core)
    special = {"--tables": "list:" + " ".join(tables), "--table": "words:" + " ".join(tables),
               "--objects": "words:" + " ".join(types)}
    kinds = flag_kinds(f["flags"], special)
    value_flags = [n for fl in f["flags"] if fl["meta"] for n in fl["names"]]
    all_flags = [n for fl in f["flags"] for n in fl["names"]]
    commands = [c for c, _, _ in f["commands"]]
    out = [header("hubsync", "hubsync help"), completion_functions("hubsync", kinds)]
    out.append("# _hubsync_words CUR: the command, then the flags that apply to it.\n"
               "_hubsync_words() {\n"
               f"    local commands={bash_list(commands)}\n"
               f"    local value_flags=\" {' '.join(value_flags)} \"\n"
               "    local i w command=\"\" flags\n"
               "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
               "        w=${COMP_WORDS[i]}\n"
               "        if [[ $w == -- ]]; then break; fi\n"
               "        if [[ ${COMP_WORDS[i + 1]} == = ]]; then ((i += 2)); continue; fi\n"
               "        if [[ $value_flags == *\" $w \"* ]]; then ((i++)); continue; fi\n"
               "        [[ $w == -* ]] || { command=$w; break; }\n"
               "    done\n"
               "    case $command in\n")
    for c in commands:
        out.append(f"    {c}) flags={bash_list(f['command_flags'][c])} ;;\n")
    out.append(f"    *) flags={bash_list(all_flags)} ;;\n"
               "    esac\n"
               "    if [[ $1 == -* ]]; then\n"
               "        COMPREPLY=($(compgen -W \"$flags\" -- \"$1\"))\n"
               "    elif [[ -z $command ]]; then\n"
               "        COMPREPLY=($(compgen -W \"$commands\" -- \"$1\"))\n"
               "    elif [[ $command == help && $i -eq $((COMP_CWORD - 1)) ]]; then\n"
               "        COMPREPLY=($(compgen -W \"$commands\" -- \"$1\"))\n"
               "    fi\n"
               "}\n\ncomplete -F _hubsync hubsync\n")
    return "".join(out)


def sim_completion(f):
    flags = []
    for o in f["options"]:
        meta = o["meta"]
        first = o["text"].split()[0].rstrip(";,") if o["text"] else ""
        if meta and "|" not in meta and re.fullmatch(r"[a-z-]+(\|[a-z-]+)+", first):
            meta = first  # `--tier NAME   free|starter|…`: the values lead the text
        flags.append({"names": o["names"], "meta": meta})
    kinds = flag_kinds(flags, {})
    names = [n for o in f["options"] for n in o["names"]]
    out = [header("hubspot-sim", "hubspot-sim --help"), completion_functions("hubspot-sim", kinds)]
    out.append("# _hubspot_sim_words CUR: the options.\n"
               "_hubspot_sim_words() {\n"
               f"    COMPREPLY=($(compgen -W {bash_list(names)} -- \"$1\"))\n"
               "}\n\ncomplete -F _hubspot_sim hubspot-sim\n")
    return "".join(out)


# ---- main ------------------------------------------------------------------


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip())
    mode, binary = argv[1], argv[2]
    if mode == "man":
        sys.stdout.write(hubsync_man(hubsync_facts(binary)))
    elif mode == "sim-man":
        version = open(os.path.join(os.path.dirname(__file__), "..", "VERSION")).read().strip()
        sys.stdout.write(sim_man(sim_facts(binary), version))
    elif mode == "completion":
        sys.stdout.write(hubsync_completion(hubsync_facts(binary)))
    elif mode == "sim-completion":
        sys.stdout.write(sim_completion(sim_facts(binary)))
    elif mode == "flags":
        print("\n".join(n for fl in hubsync_facts(binary)["flags"] for n in fl["names"]))
    elif mode == "sim-flags":
        print("\n".join(n for o in sim_facts(binary)["options"] for n in o["names"]))
    else:
        sys.exit(f"cli-pages.py: unknown mode '{mode}'\n\n" + __doc__.strip())


if __name__ == "__main__":
    main(sys.argv)
