package secret_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/secret"
)

const value = "hunter2-s3cr3t-value"

// holder is how secrets travel: as fields of a configuration struct.
type holder struct {
	Name   string
	Token  secret.Value
	Unset  secret.Value
	Ptr    *secret.Value
	nested secret.Value
}

func newHolder() holder {
	v := secret.New(value)
	return holder{Name: "cfg", Token: v, Ptr: &v, nested: v}
}

// shows reports whether s holds the value in any common encoding.
func shows(s string) bool {
	for _, enc := range []string{value, fmt.Sprintf("%x", value), fmt.Sprintf("%X", value), fmt.Sprint([]byte(value)), "hunter2"} {
		if strings.Contains(s, enc) {
			return true
		}
	}
	return false
}

func TestNeverShownByFmt(t *testing.T) {
	v := secret.New(value)
	h := newHolder()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%T", "%10.3s", "%-v", "%!"} {
		for what, arg := range map[string]any{"value": v, "pointer": &v, "struct": h, "pointer to struct": &h, "slice": []secret.Value{v}, "map": map[string]secret.Value{"k": v}} {
			if s := fmt.Sprintf(verb, arg); shows(s) {
				t.Errorf("Sprintf(%s, %s) = %s", verb, what, s)
			}
		}
	}
	if got := fmt.Sprint(v); got != "<redacted>" {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%#v", v); got != `secret.Value("<redacted>")` {
		t.Errorf("%%#v = %q", got)
	}
	if got := fmt.Sprint(secret.Value{}); got != "(unset)" {
		t.Errorf("Sprint(unset) = %q", got)
	}
	if err := fmt.Errorf("wrapped: %v", v); shows(err.Error()) || shows(errors.Unwrap(fmt.Errorf("%w", err)).Error()) {
		t.Errorf("error shows it: %v", err)
	}
}

func TestNeverShownBySlog(t *testing.T) {
	v := secret.New(value)
	h := newHolder()
	for name, handler := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(handler(&buf))
		log.Info("config", "token", v, "ptr", &v, "config", h, "any", slog.AnyValue(v), slog.Group("g", "token", v))
		log.With("token", v).Info("with")
		out := buf.String()
		if shows(out) || !strings.Contains(out, "<redacted>") {
			t.Errorf("%s handler: %s", name, out)
		}
	}
}

func TestNeverShownByEncoders(t *testing.T) {
	h := newHolder()
	j, err := json.Marshal(h)
	if err != nil || shows(string(j)) {
		t.Errorf("json.Marshal = %s, %v", j, err)
	}
	if want := `{"Name":"cfg","Token":"\u003credacted\u003e","Unset":"(unset)","Ptr":"\u003credacted\u003e"}`; string(j) != want {
		t.Errorf("json.Marshal = %s\nwant           %s", j, want)
	}
	m, err := json.Marshal(map[secret.Value]int{secret.New(value): 1})
	if err != nil || shows(string(m)) {
		t.Errorf("json.Marshal(map key) = %s, %v", m, err)
	}
	x, err := xml.Marshal(h)
	if err != nil || shows(string(x)) {
		t.Errorf("xml.Marshal = %s, %v", x, err)
	}
}

func TestReveal(t *testing.T) {
	v := secret.New(value)
	if v.Reveal() != value || string(v.Bytes()) != value || v.Len() != len(value) || !v.IsSet() {
		t.Fatal("the value does not come back out")
	}
	b := v.Bytes()
	b[0] = 'X'
	if v.Reveal() != value {
		t.Fatal("Bytes shares the secret's memory")
	}
	var unset secret.Value
	if unset.IsSet() || unset.Reveal() != "" || unset.Bytes() != nil || secret.New("").IsSet() {
		t.Fatal("an empty secret is set")
	}
	if !v.Equal(secret.New(value)) || v.Equal(secret.New(value+"x")) || v.Equal(unset) {
		t.Fatal("Equal is wrong")
	}
}
