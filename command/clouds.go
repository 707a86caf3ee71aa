package command

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/drivecp/drivecp/providers"
)

func newCloudsCommand() *cli.Command {
	return &cli.Command{
		Name:  "clouds",
		Usage: "list the clouds drivecp serves, their settings and what each can do",
		Action: func(c *cli.Context) error {
			return printClouds(c.App.Writer, registry(c), c.Bool(flagJSON))
		},
	}
}

// cloudInfo is what `drivecp clouds --json` prints per cloud.
type cloudInfo struct {
	Name         string                 `json:"name"`
	Default      bool                   `json:"default"`
	Summary      string                 `json:"summary"`
	Capabilities providers.Capabilities `json:"capabilities"`
	Settings     []settingInfo          `json:"settings"`
}

type settingInfo struct {
	Flag    string   `json:"flag"`
	Env     []string `json:"env"`
	Default string   `json:"default,omitempty"`
	Secret  bool     `json:"secret,omitempty"`
	Usage   string   `json:"usage"`
}

// printClouds lists the registered clouds and what each offers.
func printClouds(w io.Writer, reg *providers.Registry, asJSON bool) error {
	var infos []cloudInfo
	for i, cl := range reg.Clouds() {
		ci := cloudInfo{Name: cl.Name, Default: i == 0, Summary: cl.Summary, Capabilities: cl.Capabilities}
		for _, s := range cl.Settings {
			ci.Settings = append(ci.Settings, settingInfo{Flag: "--" + s.Name, Env: s.Env, Default: s.Default,
				Secret: s.Secret, Usage: s.Usage})
		}
		infos = append(infos, ci)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "CLOUD\tSERVICES\tTRANSFERS\tBACKUP\tENVIRONMENT")
	for _, ci := range infos {
		var env []string
		for _, s := range ci.Settings {
			env = append(env, s.Env...)
		}
		name := ci.Name
		if ci.Default {
			name += " (default)"
		}
		caps := ci.Capabilities
		transfers, backup := strings.Join(caps.Transfers, ", "), string(caps.Backup)
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", name, strings.Join(caps.Services, ", "), dash(transfers), dash(backup),
			strings.Join(env, " "))
	}
	return t.Flush()
}
