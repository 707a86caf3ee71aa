package command

import (
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestReorderArgs(t *testing.T) {
	app := &cli.App{
		Flags: []cli.Flag{&cli.StringFlag{Name: "endpoint"}, &cli.BoolFlag{Name: "json"}},
		Commands: []*cli.Command{
			{Name: "upload", Flags: []cli.Flag{&cli.StringFlag{Name: "name"}, &cli.BoolFlag{Name: "verify"}, &cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}}}},
			{Name: "drive", Subcommands: []*cli.Command{{Name: "delete", Aliases: []string{"rm"}, Flags: []cli.Flag{&cli.BoolFlag{Name: "yes"}}}}},
		},
	}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"d", "upload", "img", "--name", "web"}, []string{"d", "upload", "--name", "web", "img"}},
		{[]string{"d", "upload", "img", "--name=web", "--verify", "-c", "4"}, []string{"d", "upload", "--name=web", "--verify", "-c", "4", "img"}},
		{[]string{"d", "--json", "upload", "--verify", "img"}, []string{"d", "--json", "upload", "--verify", "img"}},
		{[]string{"d", "upload", "img", "--json", "--endpoint", "http://x"}, []string{"d", "--json", "--endpoint", "http://x", "upload", "img"}},
		{[]string{"d", "upload", "img", "--bogus"}, []string{"d", "upload", "--bogus", "img"}},
		{[]string{"d", "drive", "rm", "a", "b", "--yes"}, []string{"d", "drive", "rm", "--yes", "a", "b"}},
		{[]string{"d", "upload", "--", "--name", "x"}, []string{"d", "upload", "--", "--name", "x"}},
		{[]string{"d", "upload", "-", "--verify"}, []string{"d", "upload", "--verify", "-"}},
		{[]string{"d", "nosuch", "x", "--json"}, []string{"d", "--json", "nosuch", "x"}},
		{[]string{"d"}, []string{"d"}},
	} {
		if got := ReorderArgs(app, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
