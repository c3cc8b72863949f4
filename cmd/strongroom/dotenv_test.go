package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A .env file means to Strongroom what it means to Docker Compose. The
// first cases are those where the hand-written parser before godotenv read
// something else than Compose does.
func TestDotenvFormat(t *testing.T) {
	t.Parallel()
	const secret32 = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, dotenv string
		vars         map[string]string // the process environment
		get, want    string
	}{
		{"comment after an unquoted value", "JWT_SECRET=" + secret32 + "  # from the vault\n", nil, "JWT_SECRET", secret32},
		{"# in double quotes is kept", `PEPPER="a#b"`, nil, "PEPPER", "a#b"},
		{"# in single quotes is kept", `PEPPER='a #b'`, nil, "PEPPER", "a #b"},
		{"# in an unquoted value without a space before it is kept", "PEPPER=a#b", nil, "PEPPER", "a#b"},
		{"comment after a quoted value", `EMAIL_FROM="Strongroom <s@example.com>" # sender`, nil, "EMAIL_FROM", "Strongroom <s@example.com>"},
		{"single quotes are literal", `X='$HOME'`, map[string]string{"HOME": "/root"}, "X", "$HOME"},
		{"single quotes keep backslashes", `X='a\nb'`, nil, "X", `a\nb`},
		{`\" in double quotes`, `X="a\"b"`, nil, "X", `a"b`},
		{`\\ in double quotes`, `X="a\\b"`, nil, "X", `a\b`},
		{`\n in double quotes`, `X="line1\nline2"`, nil, "X", "line1\nline2"},
		{"${NAME} from an earlier line", "OTHER=v1\nX=${OTHER}", nil, "X", "v1"},
		{"$NAME from an earlier line", "OTHER=v1\nX=$OTHER/x", nil, "X", "v1/x"},
		{"${NAME} in double quotes", "OTHER=v1\nX=\"${OTHER} and more\"", nil, "X", "v1 and more"},
		{"${NAME} in single quotes is literal", "OTHER=v1\nX='${OTHER}'", nil, "X", "${OTHER}"},
		{"export prefix", "export X=1", nil, "X", "1"},
		{"export prefix with quotes", "export X='a b'", nil, "X", "a b"},

		{"spaces around =", "X = 1", nil, "X", "1"},
		{"YAML style", "X: 1", nil, "X", "1"},
		{"unquoted value trimmed", "X=   a b   ", nil, "X", "a b"},
		{"quoted value keeps its spaces", `X="  a b  "`, nil, "X", "  a b  "},
		{"blank value is unset", "X=", nil, "X", ""},
		{"multi-line double-quoted value", "X=\"one\ntwo\"\nY=3", nil, "X", "one\ntwo"},
		{"line after a multi-line value", "X=\"one\ntwo\"\nY=3", nil, "Y", "3"},
		{"CRLF line endings", "X=1\r\nY=2\r\n", nil, "X", "1"},
		{"byte-order mark", "\ufeffX=1\n", nil, "X", "1"},
		{"last line without a newline", "A=0\nX=1", nil, "X", "1"},
		{"the process environment wins", "X=from-file", map[string]string{"X": "from-env"}, "X", "from-env"},
		// Documented in README: unlike Compose, godotenv does not look in
		// the process environment while expanding.
		{"${NAME} only in the process environment is empty", "X=${ONLY_IN_ENV}", map[string]string{"ONLY_IN_ENV": "v"}, "X", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envFrom(t, tc.vars, tc.dotenv).Get(tc.get)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q; .env:\n%s", tc.get, got, tc.want, tc.dotenv)
			}
		})
	}
}

// A .env value may still be a NAME_FILE naming the secret's file.
func TestDotenvFileForm(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pepper")
	if err := os.WriteFile(path, []byte("pepper-from-a-file-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := envFrom(t, nil, "PEPPER_FILE='"+path+"' # mounted secret\n").Get("PEPPER")
	if err != nil || got != "pepper-from-a-file-0123" {
		t.Fatalf("PEPPER = %q, %v", got, err)
	}
}

// A .env that cannot be parsed stops the start with an error naming the
// file and the line, and repeating nothing of the file: the lines around
// a mistake are often secrets.
func TestDotenvRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dotenv string
		line         string
	}{
		{"unterminated quote", "A=1\nPEPPER=\"s3cr#t-pepper\nB=2\n", ":2:"},
		{"line without =", "A=1\n# comment\n\ns3cr3t-pasted-alone\n", ":4:"},
		{"last line without = or newline", "A=1\nJWT_SECRET", ":2:"},
		{"bad character in the name", "A=1\n-JWT_SECRET=s3cr3t\n", ":2:"},
		{"space in the name", "JWT SECRET=s3cr3t-jwt\n", ":1:"},
		{"value without a name", "A=1\n=s3cr3t-no-name\n", ":2:"},
		{"after a multi-line value", "A=\"one\ntwo\"\nB=2\nPEPPER=\"s3cr3t\n", ":4:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if err := os.WriteFile(path, []byte(tc.dotenv), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewEnv(func(string) (string, bool) { return "", false }, path)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, path+tc.line) {
				t.Errorf("error %q does not name %s%s", msg, path, tc.line)
			}
			if strings.Contains(err.Error(), "s3cr") {
				t.Errorf("error repeats the file's content: %v", err)
			}
		})
	}
}

// No .env file is no error: the environment alone configures.
func TestDotenvMissing(t *testing.T) {
	t.Parallel()
	e, err := NewEnv(func(string) (string, bool) { return "", false }, filepath.Join(t.TempDir(), ".env"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.Get("STRONGROOM_ADDR"); v != "" || err != nil {
		t.Fatalf("Get = %q, %v", v, err)
	}
}
