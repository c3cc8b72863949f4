package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
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
	t.Parallel()
	c, err := LoadConfig(envFrom(t, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8000" || c.DataDir != "./data" || c.BcryptCost != 12 || c.DBName != "secure_api" || c.Production || c.LoginRate != 30 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigSources(t *testing.T) {
	t.Parallel()
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
	if c.DataDir != "/var/lib/strongroom" || c.JWTSecret.Reveal() != "0123456789abcdef0123456789abcdef" {
		t.Errorf(".env not read: %q", c.DataDir)
	}
	if c.LoginRate != 0 {
		t.Errorf("LoginRate = %d, want 0 (no limit)", c.LoginRate)
	}
	if c.Pepper.Reveal() != "pepper-from-a-file-0123" {
		t.Errorf("PEPPER_FILE not read")
	}
}

// STRONGROOM_PUBLIC_URL is the passkeys' origin: as set, or else
// localhost and the port the server listens on.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envFrom(t, map[string]string{"STRONGROOM_PUBLIC_URL": "https://vault.example.com"}, ""))
	if err != nil || c.publicURL("[::]:8443") != "https://vault.example.com" {
		t.Fatalf("set: %q, %v", c.PublicURL, err)
	}
	c, err = LoadConfig(envFrom(t, nil, ""))
	if err != nil || c.publicURL("127.0.0.1:41234") != "http://localhost:41234" || c.publicURL("[::]:8000") != "http://localhost:8000" {
		t.Fatalf("default: %q, %v", c.publicURL("127.0.0.1:41234"), err)
	}
}

func TestConfigRefuses(t *testing.T) {
	t.Parallel()
	for name, vars := range map[string]map[string]string{
		"production without secrets":  {"STRONGROOM_ENV": "production"},
		"short JWT secret":            {"JWT_SECRET": "s3cr#t-jwt"},
		"short pepper":                {"PEPPER": "s3cr#t-pep"},
		"bcrypt cost below 10":        {"STRONGROOM_BCRYPT_COST": "8"},
		"bcrypt cost not a number":    {"STRONGROOM_BCRYPT_COST": "twelve"},
		"Vault without credentials":   {"VAULT_ADDR": "http://127.0.0.1:8200"},
		"SMTP_TLS unknown":            {"SMTP_TLS": "maybe"},
		"debug on every interface":    {"STRONGROOM_DEBUG_ADDR": ":6060"},
		"proxy not a CIDR":            {"STRONGROOM_TRUSTED_PROXIES": "10.0.0.1"},
		"SMTP_PORT not a port":        {"SMTP_PORT": "smtp"},
		"missing secret file":         {"PEPPER_FILE": "/nonexistent/pepper"},
		"production in capitals":      {"STRONGROOM_ENV": "PRODUCTION"},
		"production capitalized":      {"STRONGROOM_ENV": "Production"},
		"JWT secret equal to pepper":  {"JWT_SECRET": "s3cr#t-shared-0123456789abcdef0123", "PEPPER": "s3cr#t-shared-0123456789abcdef0123"},
		"login rate not a number":     {"STRONGROOM_LOGIN_RATE": "lots"},
		"negative login rate":         {"STRONGROOM_LOGIN_RATE": "-1"},
		"admins from the environment": {"STRONGROOM_ADMINS": "ops"},
		"public URL an IP address":    {"STRONGROOM_PUBLIC_URL": "https://192.0.2.7"},
		"public URL over http":        {"STRONGROOM_PUBLIC_URL": "http://vault.example.com"},
		"public URL with a path":      {"STRONGROOM_PUBLIC_URL": "https://vault.example.com/app"},
		"public URL without a scheme": {"STRONGROOM_PUBLIC_URL": "vault.example.com"},
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
	t.Parallel()
	dir := t.TempDir()
	c := Config{DataDir: dir}
	made, err := c.fillSecrets()
	if err != nil || len(made) != 2 || c.JWTSecret.Len() < 32 || c.Pepper.Len() < 16 {
		t.Fatalf("fillSecrets = %v, %v", made, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, secretsFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file mode %v", fi.Mode().Perm())
	}
	again := Config{DataDir: dir}
	if made, _ := again.fillSecrets(); len(made) != 0 || !again.JWTSecret.Equal(c.JWTSecret) || !again.Pepper.Equal(c.Pepper) {
		t.Fatal("secrets changed on the second start")
	}
}

// Every secret in the configuration is a secret.Value: printing, logging
// or encoding a whole Config shows none of them.
func TestConfigNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"JWT_SECRET":      "jwt-s3cr3t-0123456789abcdef0123456789",
		"PEPPER":          "pepper-s3cr3t-0123456789",
		"VAULT_TOKEN":     "hvs.vault-token-s3cr3t",
		"VAULT_SECRET_ID": "vault-secret-id-s3cr3t",
		"SMTP_PASSWORD":   "smtp-password-s3cr3t",
		"MONGODB_URL":     "mongodb://user:mongo-password-s3cr3t@db.example.com/",
	}
	vars := map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_ROLE_ID": "role"}
	for k, v := range secrets {
		vars[k] = v
	}
	c, err := LoadConfig(envFrom(t, vars, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.VaultSecretID.Reveal() != secrets["VAULT_SECRET_ID"] || c.SMTPPassword.Reveal() != secrets["SMTP_PASSWORD"] {
		t.Fatal("secrets not read")
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c))
	}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", c, "pepper", c.Pepper)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("config", "config", c, "pepper", c.Pepper)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, jsonLog.String(), textLog.String(), string(j))
	for _, out := range outs {
		if !strings.Contains(out, "redacted") {
			t.Errorf("no secret shown as redacted: %s", out)
		}
		for name, v := range secrets {
			if strings.Contains(out, v) || strings.Contains(out, "s3cr3t") || strings.Contains(out, fmt.Sprintf("%x", v)) {
				t.Errorf("%s shown: %s", name, out)
			}
		}
	}
}

// A NAME_FILE naming an empty file (or one of only whitespace) is an
// error that names the variable and the file, never a silent fallback to
// a generated secret.
func TestEmptySecretFileRefused(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", " \n\t\n"} {
		path := filepath.Join(t.TempDir(), "jwt")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(envFrom(t, map[string]string{"JWT_SECRET_FILE": path}, ""))
		if err == nil || !strings.Contains(err.Error(), "JWT_SECRET_FILE") || !strings.Contains(err.Error(), "empty") {
			t.Errorf("file %q: err = %v; want one naming JWT_SECRET_FILE and saying it is empty", content, err)
		}
	}
}

func TestProductionIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"production", "Production", "PRODUCTION", " production "} {
		c, err := LoadConfig(envFrom(t, map[string]string{"STRONGROOM_ENV": env,
			"JWT_SECRET": "0123456789abcdef0123456789abcdef", "PEPPER": "fedcba9876543210"}, ""))
		if err != nil || !c.Production {
			t.Errorf("STRONGROOM_ENV=%q: production %v, %v", env, c.Production, err)
		}
	}
	for _, env := range []string{"", "development", "Development"} {
		if c, err := LoadConfig(envFrom(t, map[string]string{"STRONGROOM_ENV": env}, "")); err != nil || c.Production {
			t.Errorf("STRONGROOM_ENV=%q: production %v, %v", env, c.Production, err)
		}
	}
	// A typo is refused, not taken for "not production".
	for _, env := range []string{"prod", "productionx", "staging"} {
		if _, err := LoadConfig(envFrom(t, map[string]string{"STRONGROOM_ENV": env}, "")); err == nil || !strings.Contains(err.Error(), "STRONGROOM_ENV") {
			t.Errorf("STRONGROOM_ENV=%q: err = %v, want a refusal naming the variable", env, err)
		}
	}
}

// The same value for JWT_SECRET and PEPPER is refused in every mode, with
// a message that says so (and does not repeat the value).
func TestJWTSecretEqualToPepperRefused(t *testing.T) {
	t.Parallel()
	const shared = "s3cr#t-shared-0123456789abcdef0123"
	for _, env := range []string{"", "production"} {
		_, err := LoadConfig(envFrom(t, map[string]string{"STRONGROOM_ENV": env, "JWT_SECRET": shared, "PEPPER": shared}, ""))
		if err == nil || !strings.Contains(err.Error(), "JWT_SECRET and PEPPER are the same") || strings.Contains(err.Error(), "s3cr#t") {
			t.Errorf("STRONGROOM_ENV=%q: err = %v", env, err)
		}
	}
}

// MONGODB_PASSWORD (here from a file, as the Compose stack gives it) goes
// into the user information of MONGODB_URL; a URL that names no user, or
// already holds a password, is refused with an error that shows neither.
func TestMongoDBPassword(t *testing.T) {
	t.Parallel()
	const pw = "mongo/p@ss:w0rd s3cr3t"
	file := filepath.Join(t.TempDir(), "mongo_password")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(envFrom(t, map[string]string{"MONGODB_URL": "mongodb://strongroom@mongo:27017/?authSource=admin", "MONGODB_PASSWORD_FILE": file}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.MongoDBURL.Reveal(), "mongodb://strongroom:mongo%2Fp%40ss%3Aw0rd%20s3cr3t@mongo:27017/?authSource=admin"; got != want {
		t.Fatalf("MONGODB_URL = %q, want %q", got, want)
	}
	for _, url := range []string{"", "mongodb://mongo:27017/", "mongodb://strongroom:other-s3cr3t@mongo:27017/"} {
		vars := map[string]string{"MONGODB_PASSWORD": pw}
		if url != "" {
			vars["MONGODB_URL"] = url
		}
		_, err := LoadConfig(envFrom(t, vars, ""))
		if err == nil || !strings.Contains(err.Error(), "MONGODB_PASSWORD") {
			t.Errorf("MONGODB_URL %q with MONGODB_PASSWORD: err = %v, want one naming MONGODB_PASSWORD", url, err)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error shows a password: %v", err)
		}
	}
}
