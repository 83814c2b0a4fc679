package ids_test

import (
	"strings"
	"testing"

	"github.com/bellhop/bellhop/platform/ids"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, b := ids.New("bk"), ids.New("bk")
	if !strings.HasPrefix(a, "bk_") || len(a) != len("bk_")+26 {
		t.Fatalf("New(bk) = %q: want bk_ and 26 characters", a)
	}
	if a == b {
		t.Fatalf("two ids are equal: %q", a)
	}
	if a != strings.ToLower(a) {
		t.Fatalf("id %q is not lower case", a)
	}
}
