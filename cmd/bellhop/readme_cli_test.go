package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// README's CLI list names commands the binary has (each answers --help),
// and every command the binary has is in the list, so neither drifts.
func TestREADME_CLIListMatchesTheBinary(t *testing.T) {
	t.Parallel()
	blocks := taggedBlocks(t, filepath.Join("..", "..", "README.md"), "```text cli")
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d ```text cli blocks, want 1", len(blocks))
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(blocks[0].text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		// "bellhop split deploy | split plan [--module M]": each alternative.
		for _, alt := range strings.Split(line, " | ") {
			words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(alt), "bellhop "))
			var path []string
			for _, w := range words {
				if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.ToUpper(w) == w {
					break
				}
				path = append(path, w)
			}
			if len(path) == 0 {
				continue
			}
			listed[strings.Join(path, " ")] = true
			if out, err := exec.Command(binary, append(path, "--help")...).CombinedOutput(); err != nil || !strings.Contains(string(out), "Usage:") {
				t.Errorf("README lists `bellhop %s`, which the binary does not have: %v\n%s", strings.Join(path, " "), err, out)
			}
		}
	}
	// Every command of the binary (and its subcommands), but help and
	// completion, is listed: itself, or (a group like `clients`) through
	// its subcommands.
	covered := func(command string) bool {
		for l := range listed {
			if l == command || strings.HasPrefix(l, command+" ") {
				return true
			}
		}
		return false
	}
	var walk func(path []string)
	walk = func(path []string) {
		out, err := exec.Command(binary, append(path, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("bellhop %s --help: %v\n%s", strings.Join(path, " "), err, out)
		}
		_, commands, ok := strings.Cut(string(out), "Available Commands:\n")
		if !ok {
			return
		}
		commands, _, _ = strings.Cut(commands, "\n\n")
		for _, line := range strings.Split(commands, "\n") {
			name := strings.Fields(line)[0]
			if name == "help" || name == "completion" {
				continue
			}
			sub := append(append([]string{}, path...), name)
			if !covered(strings.Join(sub, " ")) {
				t.Errorf("README's CLI list lacks `bellhop %s`", strings.Join(sub, " "))
			}
			walk(sub)
		}
	}
	walk(nil)
}

// README's example of a bad value is what the binary says.
func TestREADME_ConfigErrorExample(t *testing.T) {
	t.Parallel()
	blocks := taggedBlocks(t, filepath.Join("..", "..", "README.md"), "```text config-error")
	if len(blocks) != 1 {
		t.Fatalf("README.md has %d ```text config-error blocks, want 1", len(blocks))
	}
	command, want, ok := strings.Cut(blocks[0].text, "\n")
	args := strings.Fields(strings.TrimPrefix(command, "$ bellhop "))
	if !ok || !strings.HasPrefix(command, "$ bellhop ") {
		t.Fatalf("the block should be `$ bellhop ...` and its output:\n%s", blocks[0].text)
	}
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("bellhop %s succeeded; README says it fails", strings.Join(args, " "))
	}
	if strings.TrimSpace(string(out)) != strings.TrimSpace(want) {
		t.Errorf("bellhop %s said\n%s\nREADME says\n%s", strings.Join(args, " "), out, want)
	}
}
