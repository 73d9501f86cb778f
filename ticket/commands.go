package ticket

import (
	"fmt"
	"strings"
)

// CommandKind names an agent's mail command.
type CommandKind string

// The commands an agent may put on the first lines of a reply.
const (
	CmdStatus      CommandKind = "status"      // #statut <code|label> / #status <code|label>
	CmdClose       CommandKind = "close"       // #fermer / #close
	CmdNote        CommandKind = "note"        // #note: the whole mail is an internal note
	CmdAssign      CommandKind = "assign"      // #assigner <addr|moi> / #assign <addr|me>
	CmdParticipant CommandKind = "participant" // #participant <addr>
	CmdMerge       CommandKind = "merge"       // #fusionner <KEY> / #merge <KEY>: merge this ticket into KEY
)

// Command is one parsed command line.
type Command struct {
	Kind   CommandKind
	Arg    string
	Status Status // for CmdStatus
	Line   string // the line as written
}

var commandNames = map[string]CommandKind{
	"statut": CmdStatus, "status": CmdStatus,
	"fermer": CmdClose, "close": CmdClose, "clore": CmdClose,
	"note":     CmdNote,
	"assigner": CmdAssign, "assign": CmdAssign,
	"participant": CmdParticipant,
	"fusionner":   CmdMerge, "merge": CmdMerge,
}

// ParseCommands reads the command lines at the top of an agent's reply: every line that
// starts with '#' before the first other non-blank line. It returns the commands, the
// text without them, and one error line per unknown or malformed command. Nothing in
// the text after the first ordinary line is a command.
//
// A saved reply's line ("#modele NAME", see IsTemplateLine) among them is not a command:
// it stays in the text, in its place before the first ordinary line, to be expanded.
func ParseCommands(body string) (cmds []Command, rest string, errs []string) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	var kept []string
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") || strings.HasPrefix(line, "##") || len(line) == 1 {
			break
		}
		if _, ok := IsTemplateLine(line); ok {
			kept = append(kept, line)
			continue
		}
		// "#123" or "#AURAN1-3" are references, not commands.
		word, arg, _ := strings.Cut(strings.TrimPrefix(line, "#"), " ")
		if word == "" || (word[0] >= '0' && word[0] <= '9') || ticketKeyRe.MatchString(strings.ToUpper(word)) {
			break
		}
		arg = strings.TrimSpace(arg)
		kind, ok := commandNames[strings.ToLower(strings.TrimRight(word, ":"))]
		if !ok {
			errs = append(errs, fmt.Sprintf("commande inconnue « %s » / unknown command", line))
			continue
		}
		c := Command{Kind: kind, Arg: arg, Line: line}
		switch kind {
		case CmdStatus:
			st, ok := ParseStatus(arg)
			if !ok {
				errs = append(errs, fmt.Sprintf("statut inconnu « %s » (new, in_progress, waiting, waiting_user, closed) / unknown status", arg))
				continue
			}
			c.Status = st
		case CmdAssign, CmdParticipant:
			if arg == "" {
				errs = append(errs, fmt.Sprintf("« %s » : une adresse est attendue / an address is expected", line))
				continue
			}
		case CmdMerge:
			if !ticketKeyRe.MatchString(strings.ToUpper(arg)) {
				errs = append(errs, fmt.Sprintf("« %s » : la référence d'une demande est attendue, par exemple AURAN1-12 / a ticket key is expected", line))
				continue
			}
			c.Arg = strings.ToUpper(arg)
		case CmdClose, CmdNote:
			if arg != "" {
				errs = append(errs, fmt.Sprintf("« %s » ne prend pas d'argument / takes no argument", line))
				continue
			}
		}
		cmds = append(cmds, c)
	}
	return cmds, strings.TrimSpace(strings.Join(append(kept, lines[i:]...), "\n")), errs
}
