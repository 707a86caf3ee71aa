package all

import "testing"

func TestRegistry(t *testing.T) {
	r := Registry()
	if r.Default().Name != "cloudsigma" {
		t.Errorf("default cloud %q, want cloudsigma", r.Default().Name)
	}
	for _, c := range r.Clouds() {
		if c.Summary == "" || len(c.Settings) == 0 {
			t.Errorf("cloud %s: needs a summary and its settings", c.Name)
		}
		seen := map[string]bool{}
		for _, s := range c.Settings {
			if seen[s.Name] || len(s.Env) == 0 || s.Usage == "" {
				t.Errorf("cloud %s: setting %q is repeated or lacks an environment variable or usage", c.Name, s.Name)
			}
			seen[s.Name] = true
		}
	}
}
