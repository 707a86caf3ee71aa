package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/internal/units"
)

// Argument and flag rules shared by the commands: how many positional
// arguments a command takes, sizes, and repeatable key=value metadata.

// sizeFlag parses a size flag with units; a bad or non-positive size is a
// usage error.
func sizeFlag(c *cli.Context, name string) (int64, error) {
	n, err := units.ParseSize(c.String(name))
	if err != nil {
		return 0, &usageError{Err: fmt.Errorf("--%s: %w", name, err)}
	}
	if n <= 0 {
		return 0, usageErrorf("--%s must be positive", name)
	}
	return n, nil
}

// exactArgs returns the one positional argument a command takes.
func exactArgs(c *cli.Context, name string) ([]string, error) {
	if c.NArg() != 1 || c.Args().First() == "" {
		return nil, withHint(usageErrorf("%s takes exactly one %s, got %d arguments", c.Command.HelpName, name, c.NArg()),
			"run '%s --help'", c.Command.HelpName)
	}
	return c.Args().Slice(), nil
}

// argsRule checks the positional arguments of a command and returns them.
type argsRule func(c *cli.Context) ([]string, error)

// noArgsRule accepts no positional arguments.
func noArgsRule(c *cli.Context) ([]string, error) { return nil, noArgs(c) }

// oneArg accepts exactly one positional argument, described as name.
func oneArg(name string) argsRule {
	return func(c *cli.Context) ([]string, error) { return exactArgs(c, name) }
}

// someArgsRule accepts one or more positional arguments.
func someArgsRule(name string) argsRule {
	return func(c *cli.Context) ([]string, error) { return someArgs(c, name) }
}

// withServices is the shape of most resource actions: check the arguments,
// connect to the API the flags choose, then run.
func withServices(rule argsRule, run func(c *cli.Context, s services, args []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		args, err := rule(c)
		if err != nil {
			return err
		}
		s, err := servicesFrom(c)
		if err != nil {
			return err
		}
		return run(c, s, args)
	}
}

// someArgs returns the positional arguments of a command taking one or
// more.
func someArgs(c *cli.Context, name string) ([]string, error) {
	args := c.Args().Slice()
	if len(args) == 0 || slices.Contains(args, "") {
		return nil, withHint(usageErrorf("%s needs at least one %s", c.Command.HelpName, name), "run '%s --help'", c.Command.HelpName)
	}
	return args, nil
}

// noArgs refuses stray positional arguments, which are usually a
// mistyped flag.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return withHint(usageErrorf("%s takes no arguments, got %q", c.Command.HelpName, c.Args().First()),
			"run '%s --help'", c.Command.HelpName)
	}
	return nil
}

// metaFlag collects repeated KEY=VALUE flags. Unlike a string slice flag
// it does not split values at commas, which metadata values may hold.
type metaFlag struct{ pairs [][2]string }

// Set adds one KEY=VALUE.
func (m *metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	m.pairs = append(m.pairs, [2]string{k, v})
	return nil
}

// String shows the pairs in help output.
func (m *metaFlag) String() string {
	if m == nil {
		return ""
	}
	parts := make([]string, len(m.pairs))
	for i, p := range m.pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, ",")
}

// metaValues are metadata changes: KEY to VALUE, "" meaning remove.
type metaValues map[string]string

// readMeta reads a metaFlag; nil when it was not given.
func readMeta(c *cli.Context, name string) metaValues {
	m, ok := c.Generic(name).(*metaFlag)
	if !ok || len(m.pairs) == 0 {
		return nil
	}
	out := metaValues{}
	for _, p := range m.pairs {
		out[p[0]] = p[1]
	}
	return out
}

// set is the metadata a create starts with: the non-empty values.
func (m metaValues) set() map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// apply returns cur with the changes made, never nil.
func (m metaValues) apply(cur map[string]string) map[string]string {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range m {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
