package command

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/retry"
)

// flagCloud selects the cloud; DRIVECP_CLOUD is its environment fallback.
const flagCloud = "cloud"

// registryKey is where NewApp keeps the cloud registry in the app's
// metadata, so every action reaches it without global state.
const registryKey = "drivecp.registry"

// registry returns the app's cloud registry.
func registry(c *cli.Context) *providers.Registry {
	return c.App.Metadata[registryKey].(*providers.Registry)
}

// cloudFlags returns the global flags that choose and configure a cloud:
// --cloud, then every registered cloud's settings, one flag per setting
// name however many clouds read it. The flags carry no environment
// fallback of their own: each cloud reads its own variables (cloudConfig).
func cloudFlags(reg *providers.Registry) []cli.Flag {
	flags := []cli.Flag{&cli.StringFlag{Name: flagCloud, EnvVars: []string{"DRIVECP_CLOUD"}, Value: reg.Default().Name,
		Usage: "the cloud to use: " + strings.Join(reg.Names(), ", ")}}
	var names []string
	usage := map[string][]string{}
	for _, cl := range reg.Clouds() {
		for _, s := range cl.Settings {
			if _, ok := usage[s.Name]; !ok {
				names = append(names, s.Name)
			}
			u := cl.Name + ": " + s.Usage
			if len(s.Env) > 0 {
				u += " ($" + strings.Join(s.Env, ", $") + ")"
			}
			usage[s.Name] = append(usage[s.Name], u)
		}
	}
	for _, n := range names {
		flags = append(flags, &cli.StringFlag{Name: n, Usage: strings.Join(usage[n], "; ")})
	}
	return flags
}

// chosenCloud returns the cloud --cloud (or DRIVECP_CLOUD) names.
func chosenCloud(c *cli.Context) (providers.Cloud, error) {
	reg := registry(c)
	name := c.String(flagCloud)
	if name == "" {
		return reg.Default(), nil
	}
	cl, ok := reg.Lookup(strings.ToLower(name))
	if !ok {
		return providers.Cloud{}, withHint(usageErrorf("unknown cloud %q", name),
			"the clouds are %s ('drivecp clouds' lists what each can do)", strings.Join(reg.Names(), ", "))
	}
	return cl, nil
}

// cloudConfig resolves cl's settings: the flag when given, else the first
// of the cloud's environment variables that is set, else the default. A
// file setting (FileOf) is replaced by the first line of its file; giving
// both the value and its file is a usage error.
func cloudConfig(c *cli.Context, cl providers.Cloud, getenv func(string) string) (providers.Config, error) {
	cfg := providers.Config{}
	from := map[string]string{} // setting -> where its value came from, for messages
	for _, s := range cl.Settings {
		v, src := "", ""
		if c.IsSet(s.Name) {
			v, src = c.String(s.Name), "--"+s.Name
		} else {
			for _, e := range s.Env {
				if x := getenv(e); x != "" {
					v, src = x, e
					break
				}
			}
		}
		if v == "" {
			v = s.Default
		}
		cfg[s.Name], from[s.Name] = v, src
	}
	for _, s := range cl.Settings {
		if s.FileOf == "" || cfg[s.Name] == "" {
			continue
		}
		what := strings.ReplaceAll(s.Name, "-", " ") // "password file"
		if from[s.FileOf] != "" {
			return nil, withHint(usageErrorf("both a %s and a %s are given", s.FileOf, what),
				"keep one of %s and %s", from[s.FileOf], from[s.Name])
		}
		secret, err := readSecretFile(what, cfg[s.Name])
		if err != nil {
			return nil, err
		}
		cfg[s.FileOf] = secret
		delete(cfg, s.Name)
	}
	return cfg, nil
}

// readSecretFile returns the first line of the file at path, without its
// line ending. Errors call it what and name the file, never its content.
func readSecretFile(what, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usageErrorf("%s: %w", what, err)
	}
	defer f.Close()
	// A secret is short: a file that holds no line ending within 4 KiB is
	// not a secret file (an image given by mistake, say).
	line, err := bufio.NewReaderSize(io.LimitReader(f, 4<<10), 4<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", usageErrorf("%s %s: %w", what, path, err)
	}
	if errors.Is(err, io.EOF) && len(line) == 4<<10 {
		return "", usageErrorf("%s %s: no line ending in its first 4 KiB; is it the right file?", what, path)
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		return "", usageErrorf("%s %s: the first line is empty", what, path)
	}
	return secret, nil
}

// providerOptions say how a command wants its provider opened.
type providerOptions struct {
	// Concurrency sizes the connection pool (default 2: management calls
	// are few and sequential).
	Concurrency int
	// Transfer: the command moves bytes.
	Transfer bool
	// Retry is the retry policy of the requests that are safe to repeat,
	// Open's own included.
	Retry retry.Policy
}

// openProvider opens the chosen cloud with its settings and puts its
// services behind the retry policy: the one place a provider is assembled.
func openProvider(c *cli.Context, o providerOptions) (*providers.Provider, error) {
	cl, err := chosenCloud(c)
	if err != nil {
		return nil, err
	}
	cfg, err := cloudConfig(c, cl, os.Getenv)
	if err != nil {
		return nil, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Retry.Logger == nil && c.Bool(flagDebug) {
		o.Retry.Logger = debugLogger(c)
	}
	oo := providers.OpenOptions{Version: Version, Concurrency: o.Concurrency, Transfer: o.Transfer,
		Retry: func(ctx context.Context, what string, fn func(ctx context.Context) error) error {
			return o.Retry.Do(ctx, what, fn)
		}}
	if c.Bool(flagDebug) {
		oo.Trace = c.App.ErrWriter
	}
	p, err := cl.Open(c.Context, cfg, oo)
	if err != nil {
		return nil, unreachableHint(err)
	}
	p.Services = retry.Wrap(p.Services, o.Retry)
	for i := range p.Transfers {
		p.Transfers[i].Drives = retry.WrapDrives(p.Transfers[i].Drives, o.Retry)
	}
	return p, nil
}

// metaPolicy is the retry policy of management commands: a few quick
// repetitions, so a flaky link does not end a listing, while a dead
// endpoint is reported within seconds.
func metaPolicy(c *cli.Context) retry.Policy {
	p := retry.Policy{Attempts: 4, MaxElapsed: 15 * time.Second}
	if c.Bool(flagDebug) {
		p.Logger = debugLogger(c)
	}
	return p
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool { return errors.Is(err, providers.ErrNotFound) }

// cloudEnv returns the chosen cloud's resolved settings as the environment
// variables a child drivecp reads them from (the bench runs the binary
// against the user's endpoint). Secrets travel in the child's environment
// only, never on its command line.
func cloudEnv(c *cli.Context) ([]string, error) {
	cl, err := chosenCloud(c)
	if err != nil {
		return nil, err
	}
	cfg, err := cloudConfig(c, cl, os.Getenv)
	if err != nil {
		return nil, err
	}
	env := []string{"DRIVECP_CLOUD=" + cl.Name}
	for _, s := range cl.Settings {
		if v := cfg[s.Name]; v != "" && len(s.Env) > 0 {
			env = append(env, s.Env[0]+"="+v)
		}
	}
	return env, nil
}

// cloudSetting returns one resolved setting of the chosen cloud, "" when
// the cloud has no such setting.
func cloudSetting(c *cli.Context, name string) (string, error) {
	cl, err := chosenCloud(c)
	if err != nil {
		return "", err
	}
	cfg, err := cloudConfig(c, cl, os.Getenv)
	if err != nil {
		return "", err
	}
	return cfg[name], nil
}
