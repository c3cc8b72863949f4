package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStack brings up compose.yaml on a real Docker engine (with local
// stand-ins for the registry images) and checks what its users rely on:
// the seed's walk-through works through the published port, the app runs
// as non-root with no root token or master key, MongoDB holds no plaintext,
// restarts lose nothing, and Vault going away makes key-needing requests
// 503 until it is back. STRONGROOM_STACK_KEEP=1 leaves the stack up.
func TestStack(t *testing.T) {
	// From nothing: a stack left by an interrupted run would hold accounts,
	// and the walk-through's first account must be the administrator.
	(&Stack{root: Root()}).Down(t)
	start := time.Now()
	s := Up(t)
	t.Logf("stack up and the API ready in %v", time.Since(start).Round(time.Second))
	if os.Getenv("STRONGROOM_STACK_KEEP") == "" {
		t.Cleanup(func() { s.Down(t) })
	}

	// The seed's Postman walk-through, run by newman.
	newman := exec.Command(filepath.Join(s.root, "scripts", "newman.sh"), s.URL, s.MailpitURL)
	newman.Stdout, newman.Stderr = os.Stdout, os.Stderr
	if err := newman.Run(); err != nil {
		t.Fatalf("the Postman collection failed under newman: %v", err)
	}

	// Our own client: an account with two cards and email 2FA.
	u := newUser(t)
	card, card2 := "4111111111111111", "5500005555555559"
	s.Do(t, "POST", "/register", "", map[string]string{"username": u.name, "email": u.email, "password": u.password}).Want(t, 200, "register")
	tok := s.login(t, u)
	id := s.Do(t, "POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": card}).Want(t, 200, "store").Str("id")
	s.Do(t, "POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": card2}).Want(t, 200, "store 2")
	since := time.Now()
	s.Do(t, "POST", "/send-otp", tok, map[string]string{"username": u.name}).Want(t, 200, "send-otp")
	code := s.MailCode(t, u.email, since)
	s.Do(t, "POST", "/verify-otp", tok, map[string]string{"username": u.name, "otp": code}).Want(t, 200, "verify-otp")
	u.twoFactor = true
	tok = s.login(t, u)
	s.readCard(t, tok, id, card, "after 2FA login")

	t.Run("app container", func(t *testing.T) { checkAppContainer(t, s) })
	t.Run("compose config shows no secret", func(t *testing.T) { checkComposeConfig(t, s) })
	t.Run("only the app reaches MongoDB", func(t *testing.T) { checkMongoIsolated(t, s) })
	t.Run("MongoDB requires authentication", func(t *testing.T) { checkMongoAuth(t, s, u.name) })
	t.Run("no plaintext in MongoDB", func(t *testing.T) {
		checkMongo(t, s, u.name, []string{card, card2, u.password, code, "1234567812345678", "8765432187654321", "StrongP@ssw0rd1!", s.secret(t, "mongo_password")})
	})

	// A restarted app keeps sessions (in MongoDB) and keys (in Vault).
	s.Compose(t, "restart", "app")
	s.WaitReady(t, 90*time.Second)
	s.readCard(t, tok, id, card, "after docker-compose restart app")

	// down and up with the volumes kept: Vault comes back sealed, the
	// bootstrap unseals it, and nothing is lost.
	s.Compose(t, "down")
	start = time.Now()
	s = Up(t)
	t.Logf("stack up again (volumes kept) in %v", time.Since(start).Round(time.Second))
	tok = s.login(t, u)
	s.readCard(t, tok, id, card, "after down and up")

	t.Run("vault stopped and started", func(t *testing.T) { checkVaultOutage(t, s, u) })
}

type user struct {
	name, email, password string
	twoFactor             bool
}

func newUser(t *testing.T) user {
	n := fmt.Sprintf("stack%d", time.Now().UnixNano()%1e9)
	return user{name: n, email: n + "@example.com", password: "Stack-Passw0rd!" + n[len(n)-4:]}
}

// login logs in, through the mailed code when 2FA is on.
func (s *Stack) login(t *testing.T, u user) string {
	t.Helper()
	since := time.Now()
	a := s.Do(t, "POST", "/login", "", map[string]string{"username": u.name, "password": u.password}).Want(t, 200, "login")
	if !u.twoFactor {
		return a.Str("access_token")
	}
	ch := a.Str("challenge")
	if ch == "" {
		t.Fatalf("login with 2FA on gave no challenge: %s", a.Raw)
	}
	code := s.MailCode(t, u.email, since)
	return s.Do(t, "POST", "/verify-otp", "", map[string]string{"username": u.name, "otp": code, "challenge": ch}).Want(t, 200, "verify login code").Str("access_token")
}

func (s *Stack) readCard(t *testing.T, tok, id, want, when string) {
	t.Helper()
	a := s.Do(t, "GET", "/sensitive-data/"+id, tok, nil).Want(t, 200, "read "+when)
	if a.Str("value") != want {
		t.Fatalf("read %s: %s", when, a.Raw)
	}
}

// checkAppContainer: non-root, read-only, no capabilities, and neither its
// environment nor its filesystem (image layers and volumes) holds the
// Vault root token, the unseal key or a local master key.
func checkAppContainer(t *testing.T, s *Stack) {
	app := s.Container(t, "app")
	c := s.Inspect(t, app)
	if c.Config.User != "65532:65532" {
		t.Errorf("app image user %q, want 65532:65532", c.Config.User)
	}
	uids := s.UIDs(t, app)
	for _, u := range uids {
		if u == "0" || u == "root" {
			t.Errorf("a process of the app container runs as root: %v", uids)
		}
	}
	if len(uids) == 0 {
		t.Error("docker top shows no process in the app container")
	}
	if !c.HostConfig.ReadonlyRootfs || !strings.Contains(strings.Join(c.HostConfig.CapDrop, ","), "ALL") {
		t.Errorf("app container: read-only root %v, dropped capabilities %v", c.HostConfig.ReadonlyRootfs, c.HostConfig.CapDrop)
	}

	var init struct {
		UnsealKey string `json:"unseal_key_b64"`
		RootToken string `json:"root_token"`
	}
	setup := s.Container(t, "vault-setup")
	for name, b := range s.Files(t, setup, "/vault-init") {
		if strings.HasSuffix(name, ".json") {
			_ = json.Unmarshal(b, &init)
		}
	}
	if len(init.RootToken) < 10 || len(init.UnsealKey) < 10 {
		t.Fatal("the bootstrap's init file holds no root token and unseal key: the check below would prove nothing")
	}
	secrets := map[string]string{"the Vault root token": init.RootToken, "the unseal key": init.UnsealKey}
	for _, kv := range c.Config.Env {
		for what, v := range secrets {
			if strings.Contains(kv, v) {
				t.Errorf("the app's environment holds %s", what)
			}
		}
		if name, _, _ := strings.Cut(kv, "="); name == "VAULT_TOKEN" || name == "JWT_SECRET" || name == "PEPPER" {
			t.Errorf("the app's environment sets %s in clear (use the _FILE form)", name)
		}
	}
	files := s.Export(t, app)
	for _, dir := range []string{"/data", "/run"} {
		for name, b := range s.Files(t, app, dir) {
			files[dir+"/"+name] = b
		}
	}
	if len(files) < 3 {
		t.Fatalf("read only %d files of the app container", len(files))
	}
	for name, b := range files {
		for what, v := range secrets {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s of the app container holds %s", name, what)
			}
		}
		if strings.HasSuffix(name, "keyring.json") {
			t.Errorf("the app container has a local master-key file %s", name)
		}
	}
}

// checkMongo reads MongoDB's files in its volume and looks for plaintext.
func checkMongo(t *testing.T, s *Stack, username string, plaintexts []string) {
	mongo := s.Container(t, "mongo")
	var all bytes.Buffer
	for _, b := range s.Files(t, mongo, "/data/db") {
		all.Write(b)
	}
	if !bytes.Contains(all.Bytes(), []byte(username)) || !bytes.Contains(all.Bytes(), []byte("encrypted_value")) {
		t.Fatalf("MongoDB's files (%d bytes) do not hold the user %s and its records: the check would prove nothing", all.Len(), username)
	}
	for _, p := range plaintexts {
		if bytes.Contains(all.Bytes(), []byte(p)) {
			t.Errorf("MongoDB's files hold a plaintext value, password or code (%d characters)", len(p))
		}
	}
}

// checkVaultOutage stops Vault: a request that needs a new data key (a
// registration) gets 503, and once Vault is started again (sealed, then
// unsealed by the bootstrap) it succeeds and the records still read.
func checkVaultOutage(t *testing.T, s *Stack, u user) {
	s.Compose(t, "stop", "vault")
	v := newUser(t)
	a := s.Do(t, "POST", "/register", "", map[string]string{"username": v.name, "email": v.email, "password": v.password})
	if a.Status != 503 {
		t.Fatalf("register with Vault stopped: %d %s, want 503", a.Status, a.Raw)
	}
	s.Compose(t, "start", "vault")
	deadline := time.Now().Add(90 * time.Second)
	for {
		a = s.Do(t, "POST", "/register", "", map[string]string{"username": v.name, "email": v.email, "password": v.password})
		if a.Status == 200 {
			break
		}
		if a.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("register after Vault is back: %d %s", a.Status, a.Raw)
		}
		time.Sleep(time.Second)
	}
	tok := s.login(t, v)
	s.Do(t, "POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4000056655665556"}).Want(t, 200, "store after Vault is back")
}

// checkComposeConfig: the secrets are files, so docker-compose config (what
// people paste into bug reports) names them but never shows them.
func checkComposeConfig(t *testing.T, s *Stack) {
	config := s.Compose(t, "config")
	if !strings.Contains(config, "jwt_secret") {
		t.Fatalf("docker-compose config does not look like the stack's:\n%s", config)
	}
	for _, name := range []string{"jwt_secret", "pepper", "mongo_password"} {
		if v := s.secret(t, name); len(v) < 16 || strings.Contains(config, v) {
			t.Errorf("docker-compose config shows the %s secret (or it is too short to tell: %d characters)", name, len(v))
		}
	}
}

// checkMongoIsolated: from inside the mail catcher's and Vault's containers
// (what an attacker who took one of them has), MongoDB answers neither by
// name nor by address; from the app's, it does (so the probe works).
func checkMongoIsolated(t *testing.T, s *Stack) {
	mongo := s.Container(t, "mongo")
	ips := strings.Fields(string(s.Docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", mongo)))
	if len(ips) == 0 {
		t.Fatal("MongoDB's container has no address")
	}
	ping := func(from, target string) error {
		cmd := exec.Command("docker", "run", "--rm", "--network", "container:"+s.Container(t, from),
			"--entrypoint", "/ferretdb", "strongroom-standin/mongo:ferretdb", "-ping", target)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.DockerHost)
		return cmd.Run()
	}
	if err := ping("app", "mongo:27017"); err != nil {
		t.Fatalf("the app's container cannot ping MongoDB, so the probe proves nothing: %v", err)
	}
	for _, from := range []string{"mailpit", "vault"} {
		for _, target := range append([]string{"mongo"}, ips...) {
			if err := ping(from, target+":27017"); err == nil {
				t.Errorf("from %s's container, MongoDB answers at %s", from, target)
			}
		}
	}
}
