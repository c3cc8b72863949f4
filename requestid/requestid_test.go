package requestid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
)

// A line logged with a request's context carries its id, through With
// too; a line without one carries none; wrapping twice adds it once.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(Logger(slog.New(slog.NewJSONHandler(&buf, nil)))).With("component", "test")
	ctx := strongroom.WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "with")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var with, without map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &with)
	_ = json.Unmarshal([]byte(lines[1]), &without)
	if with[LogKey] != "req-1" || with["component"] != "test" || strings.Count(lines[0], LogKey) != 1 {
		t.Errorf("line with the context: %s", lines[0])
	}
	if _, ok := without[LogKey]; ok {
		t.Errorf("line without the context: %s", lines[1])
	}
}
