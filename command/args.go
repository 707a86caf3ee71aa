package command

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// ReorderArgs moves flags that follow positional arguments in front of
// them, so `drivecp upload ubuntu.img --name web --json` means what people
// expect: urfave/cli/v2 stops reading flags at the first positional argument
// and does not let a command read its parents' flags. It walks the command
// path in args; each flag goes to the deepest level on the path that defines
// it (with its value). Everything after a `--` stays positional.
func ReorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	type level struct {
		name  string
		flags map[string]bool // name -> takes a value
		lead  []string
	}
	levels := []*level{{name: args[0], flags: flagSet(app.Flags)}}
	cmds := app.Commands
	var positional, tail []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			tail = rest[i:]
			break
		}
		name, hasValue := flagName(a)
		if name == "" {
			if len(positional) == 0 {
				if sub := findCommand(cmds, a); sub != nil {
					levels = append(levels, &level{name: a, flags: flagSet(sub.Flags)})
					cmds = sub.Subcommands
					continue
				}
			}
			positional = append(positional, a)
			continue
		}
		owner := levels[len(levels)-1]
		for j := len(levels) - 1; j >= 0; j-- {
			if _, ok := levels[j].flags[name]; ok {
				owner = levels[j]
				break
			}
		}
		owner.lead = append(owner.lead, a)
		if owner.flags[name] && !hasValue && i+1 < len(rest) {
			i++
			owner.lead = append(owner.lead, rest[i])
		}
	}
	var out []string
	for _, l := range levels {
		out = append(out, l.name)
		out = append(out, l.lead...)
	}
	out = append(out, positional...)
	return append(out, tail...)
}

// flagSet maps every name of flags to whether the flag takes a value.
func flagSet(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, name := range f.Names() {
			m[name] = !isBool
		}
	}
	return m
}

// flagName returns the name of a -x/--x[=v] argument, or "" for a
// positional (including "-", which means stdin/stdout).
func flagName(a string) (name string, hasValue bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false
	}
	a = strings.TrimLeft(a, "-")
	name, _, hasValue = strings.Cut(a, "=")
	return name, hasValue
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, alias := range c.Aliases {
			if alias == name {
				return c
			}
		}
	}
	return nil
}
