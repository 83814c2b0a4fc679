package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Section is a module's own part of the configuration: a pointer to a struct
// with mapstructure tags, decoded from the top-level key of its [SectionSpec]
// and checked with the rest at start.
type Section interface {
	// Validate adds a problem for every bad key of the section.
	Validate(p *Problems)
}

// SectionSpec declares a module's section to [Load].
type SectionSpec struct {
	// Key is the section's top-level key, e.g. "payments".
	Key string
	// Defaults is YAML with the section's every key under Key, its default
	// and a comment saying what it means: merged into the embedded defaults.
	Defaults []byte
	// New returns a pointer to the zero settings the section decodes into.
	New func() Section
}

// Section is the decoded section of key (nil if no module declared one).
func (c *Config) Section(key string) Section { return c.sections[key] }

// SectionOf is the decoded section of key as the module's own type; ok is
// false if no module declared it (or it has another type).
func SectionOf[T Section](c *Config, key string) (T, bool) {
	s, ok := c.sections[key].(T)
	return s, ok
}

// Problems collects what is wrong with a configuration, one message per bad
// key, all reported at once.
type Problems struct{ list []string }

// Add records a problem with key: "key: what is wrong".
func (p *Problems) Add(key, format string, args ...any) {
	p.list = append(p.list, key+": "+fmt.Sprintf(format, args...))
}

// PositiveDuration records a problem if d is not positive.
func (p *Problems) PositiveDuration(key string, d time.Duration) {
	if d <= 0 {
		p.Add(key, "must be a positive duration such as 500ms or 10s (got %s)", d)
	}
}

// err is every problem in one line, sorted, or nil.
func (p *Problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	errs := slices.Clone(p.list)
	slices.Sort(errs)
	return errors.New("config: " + strings.Join(errs, "; "))
}
