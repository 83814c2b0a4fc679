package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/platform/config"
)

// widgets is a module's section, as a module declares one.
type widgets struct {
	Every time.Duration `mapstructure:"every"`
	Names []string      `mapstructure:"names"`
}

func (w *widgets) Validate(p *config.Problems) {
	p.PositiveDuration("widgets.every", w.Every)
	if len(w.Names) > 2 {
		p.Add("widgets.names", "at most 2 (got %d)", len(w.Names))
	}
}

var widgetSection = config.SectionSpec{
	Key:      "widgets",
	Defaults: []byte("widgets:\n  # How often.\n  every: 5s\n  names: [a]\n"),
	New:      func() config.Section { return &widgets{} },
}

func loadWidgets(t *testing.T, file string) (*config.Config, error) {
	t.Helper()
	return config.Load(config.Options{File: file, Modules: []string{"widgets"}, Sections: []config.SectionSpec{widgetSection}})
}

func TestSection_DefaultsFileAndEnv(t *testing.T) {
	c, err := loadWidgets(t, "")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := config.SectionOf[*widgets](c, "widgets")
	if !ok || w.Every != 5*time.Second || len(w.Names) != 1 {
		t.Fatalf("defaults: %+v, %v", w, ok)
	}

	file := filepath.Join(t.TempDir(), "bellhop.yaml")
	if err := os.WriteFile(file, []byte("widgets:\n  names: [x, y]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BELLHOP_WIDGETS_EVERY", "250ms")
	t.Setenv("BELLHOP_MODULES_WIDGETS_URL", "http://127.0.0.1:9999")
	t.Setenv("BELLHOP_EVENTS_NATS_URL", "nats://127.0.0.1:4222")
	c, err = loadWidgets(t, file)
	if err != nil {
		t.Fatal(err)
	}
	w, _ = config.SectionOf[*widgets](c, "widgets")
	if w.Every != 250*time.Millisecond || strings.Join(w.Names, ",") != "x,y" {
		t.Errorf("file and env: %+v", w)
	}
	if c.Modules["widgets"].URL != "http://127.0.0.1:9999" || c.Hosts("widgets") {
		t.Errorf("BELLHOP_MODULES_WIDGETS_URL not applied: %+v", c.Modules)
	}
	if c.Section("gadgets") != nil {
		t.Error("a section nobody declared is not nil")
	}
}

func TestSection_ProblemsJoinTheOthers(t *testing.T) {
	t.Setenv("BELLHOP_WIDGETS_EVERY", "0s")
	t.Setenv("BELLHOP_LOG_LEVEL", "loud")
	_, err := loadWidgets(t, "")
	want := `config: log.level: "loud" is not one of debug, info, warn, error; widgets.every: must be a positive duration such as 500ms or 10s (got 0s)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestSection_UnknownKeys(t *testing.T) {
	dir := t.TempDir()
	for name, yaml := range map[string]string{
		"in the section":    "widgets:\n  evry: 1s\n",
		"an undeclared one": "gadgets:\n  every: 1s\n",
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadWidgets(t, file)
		key := strings.Fields(strings.Split(yaml, ":")[0])[0]
		if name == "in the section" {
			key = "evry"
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err = %v, want the unknown key %q named", name, err, key)
		}
	}
}
