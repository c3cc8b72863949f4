package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
)

// Failures are logged at ERROR, but not a request whose client went away
// mid-query, nor a refusal for load: a flood of either would bury real
// failures.
func TestHTTPErrorLogLevels(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		error bool
	}{
		{"store down", strongroom.Unavailable("store unavailable", fmt.Errorf("sqlite: read: %w", context.DeadlineExceeded)), true},
		{"a bug", strongroom.Internal("op", fmt.Errorf("boom")), true},
		{"client gone", strongroom.Unavailable("store unavailable", fmt.Errorf("sqlite: read: %w", context.Canceled)), false},
		{"overload", strongroom.Unavailable("server busy", fmt.Errorf("%w: pool", strongroom.ErrOverload)), false},
	} {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		_ = httpError(context.Background(), log, "op", c.err)
		if got := strings.Contains(buf.String(), `"level":"ERROR"`); got != c.error {
			t.Errorf("%s: logged at ERROR %v, want %v: %s", c.name, got, c.error, buf.String())
		}
	}
}
