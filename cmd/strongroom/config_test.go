package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envFrom(t *testing.T, vars map[string]string, dotenv string) *Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if dotenv != "" {
		if err := os.WriteFile(path, []byte(dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e, err := NewEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envFrom(t, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8000" || c.DataDir != "./data" || c.BcryptCost != 12 || c.DBName != "secure_api" || c.Production || c.LoginRate != 30 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigSources(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "pepper")
	os.WriteFile(secretFile, []byte("pepper-from-a-file-0123\n"), 0o600)
	vars := map[string]string{
		"STRONGROOM_ADDR":       "127.0.0.1:9000",
		"PEPPER_FILE":           secretFile,
		"STRONGROOM_LOGIN_RATE": "0",
	}
	dotenv := "# comment\nSTRONGROOM_ADDR=:1\nSTRONGROOM_DATA_DIR=\"/var/lib/strongroom\"\nexport JWT_SECRET='0123456789abcdef0123456789abcdef'\n"
	c, err := LoadConfig(envFrom(t, vars, dotenv))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("Addr = %q: the environment must win over .env", c.Addr)
	}
	if c.DataDir != "/var/lib/strongroom" || c.JWTSecret != "0123456789abcdef0123456789abcdef" {
		t.Errorf(".env not read: %q", c.DataDir)
	}
	if c.LoginRate != 0 {
		t.Errorf("LoginRate = %d, want 0 (no limit)", c.LoginRate)
	}
	if c.Pepper != "pepper-from-a-file-0123" {
		t.Errorf("PEPPER_FILE not read")
	}
	if s := c.String(); strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "pepper-from") || !strings.Contains(s, "<redacted>") {
		t.Errorf("String() shows a secret: %s", s)
	}
}

func TestConfigRefuses(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"production without secrets":  {"STRONGROOM_ENV": "production"},
		"short JWT secret":            {"JWT_SECRET": "s3cr#t-jwt"},
		"short pepper":                {"PEPPER": "s3cr#t-pep"},
		"bcrypt cost below 10":        {"STRONGROOM_BCRYPT_COST": "8"},
		"login rate not a number":     {"STRONGROOM_LOGIN_RATE": "lots"},
		"negative login rate":         {"STRONGROOM_LOGIN_RATE": "-1"},
		"admins from the environment": {"STRONGROOM_ADMINS": "ops"},
		"bcrypt cost not a number":    {"STRONGROOM_BCRYPT_COST": "twelve"},
		"Vault without credentials":   {"VAULT_ADDR": "http://127.0.0.1:8200"},
		"SMTP_TLS unknown":            {"SMTP_TLS": "maybe"},
		"debug on every interface":    {"STRONGROOM_DEBUG_ADDR": ":6060"},
		"proxy not a CIDR":            {"STRONGROOM_TRUSTED_PROXIES": "10.0.0.1"},
		"SMTP_PORT not a port":        {"SMTP_PORT": "smtp"},
		"missing secret file":         {"PEPPER_FILE": "/nonexistent/pepper"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(envFrom(t, vars, ""))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "s3cr#t") {
				t.Fatalf("error repeats the secret: %v", err)
			}
		})
	}
}

func TestGeneratedSecretsPersist(t *testing.T) {
	dir := t.TempDir()
	c := Config{DataDir: dir}
	made, err := c.fillSecrets()
	if err != nil || len(made) != 2 || len(c.JWTSecret) < 32 || len(c.Pepper) < 16 {
		t.Fatalf("fillSecrets = %v, %v", made, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, secretsFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file mode %v", fi.Mode().Perm())
	}
	again := Config{DataDir: dir}
	if made, _ := again.fillSecrets(); len(made) != 0 || again.JWTSecret != c.JWTSecret || again.Pepper != c.Pepper {
		t.Fatal("secrets changed on the second start")
	}
}
