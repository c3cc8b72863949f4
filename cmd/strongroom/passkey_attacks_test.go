package main

// Attacks on the passkey feature, played over real sockets. Each test
// names what the attacker holds (a username, a bearer token, a captured
// WebAuthn answer, an account of their own on the same server, two servers
// on one store) and what must hold against it. A test that fails shows a
// weakness of the current code; its comment says the fix suggested.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/softpasskey"
)

var pkB64 = base64.RawURLEncoding

// pkOptions is what the attack helpers read of WebAuthn options.
type pkOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parseOptions(t testing.TB, raw string) pkOptions {
	t.Helper()
	var o pkOptions
	if err := json.Unmarshal([]byte(raw), &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %q: %v", raw, err)
	}
	return o
}

// forgeCreate answers registration options as softpasskey does, but with
// a credential id the attacker chooses (nil: a random one).
func forgeCreate(t testing.TB, origin, optionsRaw string, id []byte) ([]byte, *softpasskey.Credential) {
	t.Helper()
	out, c, err := (&softpasskey.Authenticator{Origin: origin}).CreateWithID([]byte(optionsRaw), id)
	if err != nil {
		t.Fatal(err)
	}
	return out, c
}

// forgeGet signs a sign-in answer with c's key over the client data cd
// (any fields a hostile page or client may put there) and counter, with
// user present and verified.
func forgeGet(t testing.TB, c *softpasskey.Credential, cd map[string]any, counter uint32) []byte {
	t.Helper()
	cdJSON, _ := json.Marshal(cd)
	out, err := (&softpasskey.Authenticator{}).SignClientData(c, cdJSON, counter)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loginAnswer asks sign-in options (with client hc) and has a answer them
// with c.
func (s *testServer) loginAnswer(hc *http.Client, a *softpasskey.Authenticator, c *softpasskey.Credential) []byte {
	s.t.Helper()
	opts := s.doWith(hc, "POST", "/passkeys/login/options", "", nil).want(s.t, 200, "login options")
	answer, err := a.Get([]byte(opts.Raw), c)
	if err != nil {
		s.t.Fatal(err)
	}
	return answer
}

func loginBody(answer []byte) map[string]any {
	return map[string]any{"credential": json.RawMessage(answer)}
}

// A captured sign-in answer, posted many times at once (to one server):
// exactly one sign-in; the others are refused alike and lock no one out.
func TestPasskeyAttackParallelReplayWinsOnce(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		_, a, c := s.withPasskey("alice", "Phone")
		answer := s.loginAnswer(client, a, c)
		const n = 12
		got := make([]int, n)
		fs := make([]func(), n)
		for i := range fs {
			hc := clientFrom(fmt.Sprintf("127.0.0.%d", 60+i))
			fs[i] = func() { got[i] = s.doWith(hc, "POST", "/passkeys/login", "", loginBody(answer)).Status }
		}
		atOnce(fs...)
		wins := 0
		for _, st := range got {
			switch st {
			case 200:
				wins++
			case 401:
			default:
				t.Fatalf("a replay answered %d: %v", st, got)
			}
		}
		if wins != 1 {
			t.Fatalf("%d sign-ins from one answer posted %d times at once, want 1: %v", wins, n, got)
		}
		// The replays took no challenge, so they count in no lockout.
		s.login("alice", seedPassword)
		s.passkeyLogin(a, c).want(t, 200, "the owner signs in after the replays")
	})
}

// The same captured answer posted at once to two servers on one store
// (one public URL): one sign-in in all.
func TestPasskeyAttackTwoServersOneStoreReplay(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "mongodb")
	cfg.PublicURL = "http://localhost:8443"
	s1 := startServer(t, cfg)
	s2 := startServer(t, cfg)
	s1.register("alice", seedPassword)
	tok := s1.login("alice", seedPassword)
	a := &softpasskey.Authenticator{Origin: cfg.PublicURL}
	c, r := s1.addPasskey(a, tok, "Phone")
	r.want(t, 201, "add on server 1")
	s2.passkeyLogin(a, c).want(t, 200, "sign in on server 2")
	for round := range 3 {
		answer := s1.loginAnswer(client, a, c)
		var st1, st2 int
		atOnce(func() { st1 = s1.do("POST", "/passkeys/login", "", loginBody(answer)).Status },
			func() { st2 = s2.do("POST", "/passkeys/login", "", loginBody(answer)).Status })
		if got := statuses([]int{st1, st2}); got[0] != 200 || got[1] != 401 {
			t.Fatalf("round %d: one answer at two servers answered %v, want one 200 and one 401", round, got)
		}
	}
}

// What a clone of an authenticator (its key copied, say from a backup)
// gets by signing at the same moment as the original: the signature
// counter is the server's only clone detection (TestPasskeySignInRefusals:
// "a counter set back: a cloned key"), and one counter value must sign in
// at most once. Sequentially it does; at once, every answer signed with
// the same next counter value reads the same stored counter before any
// writes it back, so several sign in.
//
// FAILS now. Fix: make UsePasskey a compare-and-set on the counter
// (UPDATE ... SET sign_count = ? WHERE id = ? AND (sign_count < ? OR
// (sign_count = 0 AND ? = 0)); Mongo: the same filter in UpdateOne), and
// refuse the sign-in (before grant, and count it as a failure) when no
// row moved; also never let the stored counter go backwards.
func TestPasskeyAttackClonedCounterRace(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		_, a, c := s.withPasskey("alice", "Security key")
		s.passkeyLogin(a, c).want(t, 200, "first use: counter 1 stored")
		const n = 3 // below the lockout's 5 claims at once
		for round := range 4 {
			hc := clientFrom(fmt.Sprintf("127.0.0.%d", 80+round))
			stored := c.Counter
			answers := make([][]byte, n)
			for i := range answers {
				clone := *c
				clone.Counter = stored // each copy signs with stored+1
				answers[i] = s.loginAnswer(hc, a, &clone)
			}
			got := make([]int, n)
			fs := make([]func(), n)
			for i := range fs {
				fs[i] = func() { got[i] = s.doWith(hc, "POST", "/passkeys/login", "", loginBody(answers[i])).Status }
			}
			atOnce(fs...)
			wins := 0
			for _, st := range got {
				if st == 200 {
					wins++
				}
			}
			if wins > 1 {
				t.Fatalf("round %d: %d sign-ins with one counter value (%d) at once, want at most 1: %v", round, wins, stored+1, got)
			}
			if wins == 1 {
				c.Counter = stored + 1
			}
			s.login("alice", seedPassword) // clears the failures the losers counted
		}
	})
}

// An account may have at most MaxPasskeys (20), and options say so (409)
// - but the count is checked only when options are given. Options asked
// while the account has 19, twice, and both finished: 21 passkeys. (Same
// with one options call per open session, in parallel.)
//
// FAILS now. Fix: check the count again when finishing, in the store and
// atomically (AddPasskey takes the limit: INSERT ... SELECT ... WHERE
// (SELECT count(*) FROM passkeys WHERE user_id = ?) < ?; Mongo: a
// counter on the user document incremented with a $lt filter), answering
// 409; or refuse new options while another registration of the account
// is open.
func TestPasskeyAttackMaxPasskeysCheckedAtFinish(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	a := s.authenticator()
	var tok string
	for i := range 19 {
		if i%6 == 0 { // each token has 20 password checks and finishes per 30s
			tok = s.login("alice", seedPassword)
		}
		_, r := s.addPasskey(a, tok, fmt.Sprintf("Key %d", i))
		r.want(t, 201, fmt.Sprintf("passkey %d", i))
	}
	tok = s.login("alice", seedPassword)
	var creds [][]byte
	for range 2 {
		opts := s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).want(t, 200, "options at 19")
		cred, _, err := a.Create([]byte(opts.Raw))
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, cred)
	}
	for i, cred := range creds {
		r := s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(cred)})
		if r.Status != 201 && r.Status != 409 {
			t.Fatalf("finish %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if n := s.passkeyCount(tok); n > 20 {
		t.Fatalf("%d passkeys stored, the limit is 20", n)
	}
}

// A second user of the server (mallory) who learned alice's credential id
// (it is in every sign-in answer alice's browser sends) registers her own
// key under that id: refused (409), alice's passkey still signs alice in,
// mallory's never does, and mallory's tries lock alice out of nothing.
func TestPasskeyAttackRegisterAnotherUsersCredentialID(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		s.register("alice", seedPassword)
		s.register("mallory", seedPassword)
		alice, mallory := s.login("alice", seedPassword), s.login("mallory", seedPassword)
		a := s.authenticator()
		c, r := s.addPasskey(a, alice, "Phone")
		r.want(t, 201, "alice's passkey")

		opts := s.do("POST", "/passkeys/register/options", mallory, map[string]string{"password": seedPassword}).want(t, 200, "mallory's options")
		cred, mc := forgeCreate(t, s.origin(), opts.Raw, c.ID)
		s.do("POST", "/passkeys/register", mallory, map[string]any{"credential": json.RawMessage(cred)}).want(t, 409, "alice's credential id for mallory")
		if n := s.passkeyCount(mallory); n != 0 {
			t.Fatalf("mallory has %d passkeys", n)
		}
		// mallory's key under alice's id, with mallory's handle and then
		// alice's: no one signed in.
		s.passkeyLogin(s.authenticator(), mc).want(t, 401, "mallory's key under alice's id")
		mc.UserHandle = c.UserHandle
		s.passkeyLogin(s.authenticator(), mc).want(t, 401, "mallory's key under alice's id and handle")
		r = s.passkeyLogin(a, c).want(t, 200, "alice's own passkey")
		if ok, _ := r.JSON["access_token"].(string); ok == "" {
			t.Fatal("no token")
		}
		// The same id in another case of base64 or with padding is not
		// another credential id: it decodes to other bytes or not at all.
		opts = s.do("POST", "/passkeys/register/options", mallory, map[string]string{"password": seedPassword}).want(t, 200, "options")
		cred, _ = forgeCreate(t, s.origin(), opts.Raw, append(append([]byte{}, c.ID...), 0))
		s.do("POST", "/passkeys/register", mallory, map[string]any{"credential": json.RawMessage(cred)}).want(t, 201, "a longer id is another credential")
	})
}

// What a captured credential id (without the key) and a username tell a
// stranger: nothing. An unknown credential id, alice's id with a wrong
// signature, and a challenge never given are answered alike (status,
// title, detail, headers but the request id); unknown ids lock no one
// out, however many.
func TestPasskeyAttackFailuresAnswerAlike(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		_, a, c := s.withPasskey("alice", "Phone")

		stranger := clientFrom("127.0.0.90")
		unknown := *c
		unknown.ID = []byte("0123456789abcdef")
		wrongKey := *c
		wrongKey.Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		noChallenge, _ := a.Sign("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", c)
		answers := map[string][]byte{
			"unknown id":         s.loginAnswer(stranger, a, &unknown),
			"alice's id, forged": s.loginAnswer(stranger, a, &wrongKey),
			"no such challenge":  noChallenge,
		}
		var first string
		var firstShape string
		for what, ans := range answers {
			r := s.doWith(stranger, "POST", "/passkeys/login", "", loginBody(ans)).want(t, 401, what)
			shape := fmt.Sprintf("%v|%v|%v|%v|%v", r.JSON["status"], r.JSON["title"], r.JSON["detail"], r.JSON["errors"], headerNames(r.Header))
			if first == "" {
				first, firstShape = what, shape
			} else if shape != firstShape {
				t.Fatalf("%s answered %s, %s answered %s", what, shape, first, firstShape)
			}
		}
		// Ten unknown ids: alice is not locked.
		for i := range 10 {
			u := unknown
			u.ID = []byte(fmt.Sprintf("unknown-id-%05d", i))
			s.doWith(clientFrom(fmt.Sprintf("127.0.0.%d", 100+i)), "POST", "/passkeys/login", "", loginBody(s.loginAnswer(clientFrom(fmt.Sprintf("127.0.0.%d", 100+i)), a, &u))).
				want(t, 401, "unknown id")
		}
		s.passkeyLogin(a, c).want(t, 200, "alice after a stranger's unknown ids")
	})
}

var volatileHeaders = regexp.MustCompile(`(?i)^(date|x-request-id|content-length)$`)

func headerNames(h http.Header) string {
	var out []string
	for k := range h {
		if !volatileHeaders.MatchString(k) {
			out = append(out, k+"="+h.Get(k))
		}
	}
	return fmt.Sprint(sortedStrings(out))
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// A hostile page or client that has alice's authenticator sign what it
// likes (the key itself is not taken): an answer from a cross-origin
// frame of an evil top page, one typed as a registration, one answering a
// registration challenge, one for another RP ID, one without a user
// handle: none signs in.
func TestPasskeyAttackForgedClientData(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	tok, a, c := s.withPasskey("alice", "Phone")
	challenge := func() string {
		return parseOptions(t, s.do("POST", "/passkeys/login/options", "", nil).want(t, 200, "options").Raw).PublicKey.Challenge
	}
	counter := uint32(10)
	try := func(what string, answer []byte) {
		t.Helper()
		s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 401, what)
		s.login("alice", seedPassword) // each counts in the lockout: clear it
	}
	next := func() uint32 { counter++; return counter }
	try("a cross-origin frame under an evil page", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin(), "crossOrigin": true, "topOrigin": "https://evil.example"}, next()))
	try("cross-origin without a top origin", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin(), "crossOrigin": true}, next()))
	try("typed as a registration", forgeGet(t, c, map[string]any{"type": "webauthn.create", "challenge": challenge(),
		"origin": s.origin()}, next()))
	regChallenge := parseOptions(t, s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).
		want(t, 200, "registration options").Raw).PublicKey.Challenge
	try("a registration's challenge", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": regChallenge,
		"origin": s.origin()}, next()))
	other := *c
	other.RPID = "evil.localhost"
	try("another RP ID", forgeGet(t, &other, map[string]any{"type": "webauthn.get", "challenge": challenge(), "origin": s.origin()}, next()))
	try("the origin's name as a subdomain of another", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin() + ".evil.example"}, next()))
	try("the origin as userinfo of another", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin() + "@evil.example"}, next()))
	try("https for http", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": strings.Replace(s.origin(), "http:", "https:", 1)}, next()))
	// (An origin with a path, s.origin()+"/app", is accepted: go-webauthn
	// compares scheme, host and port only. No browser sends one, and it
	// names this origin anyway: noted, not refused here.)
	try("a subdomain's origin", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": strings.Replace(s.origin(), "localhost", "evil.localhost", 1)}, next()))
	noHandle := *c
	noHandle.UserHandle = nil
	try("no user handle", forgeGet(t, &noHandle, map[string]any{"type": "webauthn.get", "challenge": challenge(), "origin": s.origin()}, next()))
	// The right answer still works (the counter moved on with the tries).
	c.Counter = next()
	s.passkeyLogin(a, c).want(t, 200, "the right answer")
}

// Malformed and huge answers to both endpoints: refused (4xx), quickly,
// never a 5xx or a panic.
func TestPasskeyAttackMalformedCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	// A CBOR byte string that says it is 2^63 bytes long; a map nested 1000
	// deep; an array of 100k items.
	bigLen := pkB64.EncodeToString([]byte{0xa1, 0x63, 'f', 'm', 't', 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	nested := make([]byte, 0, 2000)
	for range 1000 {
		nested = append(nested, 0xa1, 0x00)
	}
	nested = append(nested, 0x00)
	array := append([]byte{0x9a, 0x00, 0x01, 0x86, 0xa0}, make([]byte, 100000)...)
	cred := func(response string) string {
		return `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":` + response + `,"clientExtensionResults":{}}`
	}
	cd := pkB64.EncodeToString([]byte(`{"type":"webauthn.create","challenge":"AAAA","origin":"` + s.origin() + `"}`))
	cdGet := pkB64.EncodeToString([]byte(`{"type":"webauthn.get","challenge":"AAAA","origin":"` + s.origin() + `"}`))
	bodies := []string{
		`{}`, `{"credential":null}`, `{"credential":""}`, `{"credential":1}`, `{"credential":[]}`, `{"credential":{}}`,
		`{"credential":` + deep + `}`,
		`{"credential":` + cred(`null`) + `}`,
		`{"credential":` + cred(`{}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"","attestationObject":""}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+bigLen+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+pkB64.EncodeToString(nested)+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+pkB64.EncodeToString(array)+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"","signature":"","userHandle":""}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"AA","signature":"AA","userHandle":"AA"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"`+pkB64.EncodeToString(append(make([]byte, 37), nested...))+`","signature":"AA"}`) + `}`,
		`{"credential":{"id":"` + strings.Repeat("A", 400000) + `","rawId":"` + strings.Repeat("A", 400000) + `","type":"public-key","response":{}}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + strings.Repeat("e30", 200000) + `"}}}`,
		`{"credential":{"id":"AA==","rawId":"AA==","type":"public-key","response":{}}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"x","response":{}}}`,
		"{\"credential\":\"\xff\xfe\"}",
		`{"credential":{"id":"AAAA"},"credential":{"id":"BBBB"}}`,
		`{"name":"` + strings.Repeat("\u202e", 10) + `","credential":{}}`,
	}
	for i, b := range bodies {
		for _, ep := range []struct{ path, tok string }{{"/passkeys/login", ""}, {"/passkeys/register", tok}} {
			hc := clientFrom(fmt.Sprintf("127.0.1.%d", i%200+1)) // each its own address: no rate limit in the way
			start := time.Now()
			r := s.doWith(hc, "POST", ep.path, ep.tok, b)
			if r.Status >= 500 || r.Status < 400 || time.Since(start) > 3*time.Second {
				t.Errorf("body %d to %s: %d after %v: %.300s", i, ep.path, r.Status, time.Since(start), r.Raw)
			}
		}
		st, body, _ := s.webForm("/app/login/passkey", "", url.Values{"credential": {b}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
		if st >= 500 || st < 400 || strings.Contains(body, "goroutine") {
			t.Errorf("body %d to the web sign-in: %d", i, st)
		}
	}
	if l := s.Logs.String(); strings.Contains(l, "panic") {
		t.Fatalf("a panic in the log: %.2000s", l[strings.Index(l, "panic"):])
	}
}

// Whatever passes through the passkey endpoints (API and web), the log
// keeps none of: the password, the tokens granted, the answers' client
// data, signatures and attestation, the challenges of live ceremonies.
func TestPasskeyAttackLogsKeepNoSecrets(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	const pw = "Sekr1t!passkey-Pw"
	s.register("alice", pw)
	tok := s.login("alice", pw)
	a := s.authenticator()
	secrets := []string{pw, tok}
	// A registration through the API, a wrong password, a junk answer.
	opts := s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": pw}).want(t, 200, "options")
	s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": pw + "x"}).want(t, 401, "wrong password")
	cred, c, err := a.Create([]byte(opts.Raw))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Response map[string]string `json:"response"`
	}
	_ = json.Unmarshal(cred, &cj)
	secrets = append(secrets, cj.Response["attestationObject"], parseOptions(t, opts.Raw).PublicKey.Challenge)
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(cred)}).want(t, 201, "add")
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(`{"id":"` + pw + `"}`)}).want(t, 422, "junk")
	// Sign-ins: a right one, a refused one (another origin), a replay.
	answer := s.loginAnswer(client, a, c)
	r := s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 200, "sign in")
	ptok, _ := r.JSON["access_token"].(string)
	s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 401, "replay")
	bad := s.loginAnswer(client, &softpasskey.Authenticator{Origin: "http://localhost:1"}, c)
	s.do("POST", "/passkeys/login", "", loginBody(bad)).want(t, 401, "another origin")
	live := parseOptions(t, s.do("POST", "/passkeys/login/options", "", nil).want(t, 200, "live options").Raw).PublicKey.Challenge
	var aj struct {
		Response map[string]string `json:"response"`
	}
	_ = json.Unmarshal(answer, &aj)
	secrets = append(secrets, ptok, aj.Response["signature"], aj.Response["clientDataJSON"], live)
	// The web forms.
	csrf := s.csrfOf(tok)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {pw}}, same)
	s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {pw + "y"}}, same)
	s.webForm("/app/passkeys", tok, url.Values{"csrf": {csrf}, "credential": {`{"x":"` + pw + `"}`}}, same)
	_, wopts, _ := s.webForm("/app/login/passkey/options", "", nil, same)
	wanswer, _ := a.Get([]byte(wopts), c)
	_, _, cookies := s.webForm("/app/login/passkey", "", url.Values{"credential": {string(wanswer)}}, same)
	for _, ck := range cookies {
		secrets = append(secrets, ck.Value)
	}
	s.Service.Wait()
	logs := s.Logs.String()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("the log holds %.40q", sec)
		}
	}
}

// The web app's passkey forms against another site: a login-CSRF (the
// attacker's own answer posted from their page, to sign the victim's
// browser in as the attacker), an add and a removal posted with the
// victim's cookie, options fetched cross-site: all refused before anything
// is spent, with Sec-Fetch-Site or, from older browsers, Origin.
func TestPasskeyAttackWebCrossSite(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	alice, mallory := s.login("alice", seedPassword), s.login("mallory", seedPassword)
	m := s.authenticator()
	mc, r := s.addPasskey(m, mallory, "Mallory's")
	r.want(t, 201, "mallory's passkey")
	a := s.authenticator()
	_, r = s.addPasskey(a, alice, "Alice's")
	id, _ := r.want(t, 201, "alice's passkey").JSON["id"].(string)

	cross := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "none"},
		{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://localhost:1"},
	}
	answer := s.loginAnswer(client, m, mc)
	for _, h := range cross {
		if st, _, ck := s.webForm("/app/login/passkey", "", url.Values{"credential": {string(answer)}}, h); st != 403 || len(ck) != 0 {
			t.Fatalf("login CSRF with %v: %d, cookies %v", h, st, ck)
		}
		if st, _, _ := s.webForm("/app/login/passkey/options", "", nil, h); st != 403 {
			t.Fatalf("sign-in options with %v: %d", h, st)
		}
		csrf := s.csrfOf(alice)
		if st, _, _ := s.webForm("/app/passkeys/options", alice, url.Values{"csrf": {csrf}, "password": {seedPassword}}, h); st != 403 {
			t.Fatalf("registration options with %v: %d", h, st)
		}
		if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"csrf": {csrf}, "password": {seedPassword}}, h); st != 403 {
			t.Fatalf("removal with %v: %d", h, st)
		}
	}
	// Without the form token, same-origin: refused too.
	if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"password": {seedPassword}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); st != 403 {
		t.Fatalf("removal without the form token: %d", st)
	}
	// mallory's form token in alice's session: refused.
	if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"csrf": {s.csrfOf(mallory)}, "password": {seedPassword}},
		map[string]string{"Sec-Fetch-Site": "same-origin"}); st != 403 {
		t.Fatalf("removal with another session's form token: %d", st)
	}
	if n := s.passkeyCount(alice); n != 1 {
		t.Fatalf("alice has %d passkeys", n)
	}
	// None of the refusals spent mallory's answer (nor signed anyone in).
	s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 200, "the answer, unspent")
	// The JSON API grants no cross-origin reads to a page.
	r = s.doHeaders("POST", "/passkeys/login/options", "", nil, map[string]string{"Origin": "http://evil.example"})
	if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("CORS on the sign-in options: %q", v)
	}
}

// A flood of sign-in options from one address stops at its budget (429)
// and does not stop anyone else's sign-in.
func TestPasskeyAttackLoginOptionsFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	_, a, c := s.withPasskey("alice", "Phone")
	flood := clientFrom("127.0.0.120")
	ok := 0
	for range 60 {
		switch r := s.doWith(flood, "POST", "/passkeys/login/options", "", nil); r.Status {
		case 200:
			ok++
		case 429:
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("flood: %d %s", r.Status, r.Raw)
		}
	}
	if ok > 35 {
		t.Fatalf("%d options of 60 from one address at once", ok)
	}
	home := clientFrom("127.0.0.121")
	s.doWith(home, "POST", "/passkeys/login", "", loginBody(s.loginAnswer(home, a, c))).want(t, 200, "alice, from her own address")
}

// A stranger who has only the username locks the account by guessing
// passwords: the password is refused (429) from everywhere, but the
// owner's passkey is not (it is no guess), from any address; it signs in
// and lifts the lock. The stranger gains nothing: no pass, no token.
func TestPasskeyAttackLockedAccountAndUnlockPass(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	_, a, c := s.withPasskey("alice", "Phone")
	stranger := clientFrom("127.0.0.130")
	for range 5 {
		s.doWith(stranger, "POST", "/login", "", map[string]string{"username": "alice", "password": "Wrong!pass1"}).want(t, 401, "guess")
	}
	home := clientFrom("127.0.0.131")
	s.doWith(home, "POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 429, "the password, locked")
	s.doWith(stranger, "POST", "/unlock", "", map[string]string{"username": "alice", "code": "AAAAA-AAAAA"}).want(t, 401, "a guessed unlock code")
	s.doWith(home, "POST", "/passkeys/login", "", loginBody(s.loginAnswer(home, a, c))).want(t, 200, "the passkey on a locked account")
	s.doWith(stranger, "POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 200, "the lock is lifted")
}

// A passkey that was stolen (a synced passkey whose provider account was
// taken over, a shared device) signs the thief in; the owner sees the
// sign-in and removes the passkey. The thief's session, made with that
// passkey, must end with it: removing a way in that leaves its sessions
// open does not lock the thief out (a password change ends every other
// session; the passkey's removal ends none).
//
// FAILS now. Fix: record on each session the passkey it was made with
// (Session.PasskeyID), and end those sessions (revocation feed, as
// EndSession does) in DeletePasskey, saying so in the notice; or at least
// offer "and end its sessions" on removal.
func TestPasskeyAttackRemovalEndsItsSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	owner := s.login("alice", seedPassword)
	a := s.authenticator()
	c, r := s.addPasskey(a, owner, "Synced")
	id, _ := r.want(t, 201, "add").JSON["id"].(string)
	r = s.passkeyLogin(a, c).want(t, 200, "the thief signs in with the stolen passkey")
	thief, _ := r.JSON["access_token"].(string)
	s.do("GET", "/sessions", thief, nil).want(t, 200, "the thief's session works")
	s.do("DELETE", "/passkeys/"+id, owner, map[string]string{"password": seedPassword}).want(t, 200, "the owner removes the passkey")
	s.passkeyLogin(a, c).want(t, 401, "the removed passkey")
	if r := s.do("GET", "/sessions", thief, nil); r.Status != 401 {
		t.Fatalf("the thief's session, made with the removed passkey, still answers %d", r.Status)
	}
}

// The OpenAPI document lists every status the passkey endpoints answer
// with, as seen here.
func TestPasskeyAttackOpenAPIStatuses(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	a := s.authenticator()
	seen := map[string]map[int]bool{}
	note := func(op string, r response) {
		if seen[op] == nil {
			seen[op] = map[int]bool{}
		}
		seen[op][r.Status] = true
	}
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", tok, map[string]string{}))
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": "Wrong!pass1"}))
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", "", map[string]string{"password": seedPassword}))
	c, r := s.addPasskey(a, tok, "One")
	note("passkey-register", r)
	id, _ := r.JSON["id"].(string)
	note("passkey-register", s.do("POST", "/passkeys/register", tok, map[string]any{"credential": map[string]string{"id": "x"}}))
	note("passkey-register", s.do("POST", "/passkeys/register", "", map[string]any{"credential": map[string]string{"id": "x"}}))
	cred, _, _ := a.Create([]byte(s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).Raw))
	note("passkey-register", s.do("POST", "/passkeys/register", s.login("alice", seedPassword), map[string]any{"credential": json.RawMessage(cred)}))
	note("list-passkeys", s.do("GET", "/passkeys", "", nil))
	note("passkey-login", s.passkeyLogin(a, c))
	note("passkey-login", s.do("POST", "/passkeys/login", "", map[string]any{"credential": map[string]string{"id": "x"}}))
	note("passkey-login", s.do("POST", "/passkeys/login", "", loginBody(forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": "AAAA", "origin": s.origin()}, 99))))
	note("delete-passkey", s.do("DELETE", "/passkeys/000000000000000000000000", tok, map[string]string{"password": seedPassword}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{"password": "Wrong!pass1"}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{"password": seedPassword}))

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(s.do("GET", "/openapi.json", "", nil).want(t, 200, "openapi").Raw), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]map[string]bool{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			documented[op.OperationID] = map[string]bool{}
			for code := range op.Responses {
				documented[op.OperationID][code] = true
			}
		}
	}
	var missing []string
	var mu sync.Mutex
	for op, sts := range seen {
		for st := range sts {
			if !documented[op][fmt.Sprint(st)] && !documented[op]["default"] {
				mu.Lock()
				missing = append(missing, fmt.Sprintf("%s %d", op, st))
				mu.Unlock()
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("answered but not documented: %v", sortedStrings(missing))
	}
}

// Someone who has only alice's password (phished; not her second factor)
// guesses codes until the second-factor lockout holds (10 wrong). Alice's
// passkey (both factors, phishing-proof) is then refused too: the
// password thief keeps the owner's strongest way in shut, for as long as
// they keep guessing. The refusal also comes before the signature is
// checked (a forged answer under alice's credential id learns the lock
// state: 429, not 401), and, by reading PasskeyLogin (not played here),
// each refused try claims a login attempt that nothing releases, so 5
// tries lock the password too, with no unlock code mailed (passwordFailed
// is skipped on that path).
//
// FAILS now. Fix: check the assertion first; a verified passkey proves
// both factors and is not a code guess, so let it through the
// second-factor lockout (and reset that count, as it does now on
// success); if the lock must hold, check it after VerifyAssertion and
// release the claimed login attempt.
func TestPasskeyAttackPasswordThiefCannotLockPasskeyOut(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	tok, a, c := s.withPasskey("alice", "Phone")
	s.do("POST", "/send-otp", tok, map[string]string{"username": "alice"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "alice", "otp": s.lastCode("alice@example.com")}).want(t, 200, "enroll")
	var ch string
	for i := range 10 {
		if i%5 == 0 {
			ch = s.startLogin("alice")
		}
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, s.lastCode("alice@example.com"))+1)%1_000_000)
		s.verify("alice", ch, wrong).want(t, 401, fmt.Sprintf("the thief's wrong code %d", i+1))
	}
	s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 429, "the thief's password, locked")
	s.passkeyLogin(a, c).want(t, 200, "alice's own passkey while a password thief guesses codes")
}
