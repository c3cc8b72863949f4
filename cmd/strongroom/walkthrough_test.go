package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault"
)

const (
	seedUser     = "testuser"
	seedPassword = "StrongP@ssw0rd1!"
	seedCard     = "1234567812345678"
	seedCard2    = "8765432187654321"
	keptCard     = "4111111111111111"
)

// walkthrough runs the seed's "Testing with Postman" steps 1-8 against s and
// returns every secret it saw, for the leak checks.
func walkthrough(t *testing.T, s *testServer) (secrets []string) {
	// 1. Register.
	s.do("POST", "/register", "", map[string]string{"username": seedUser, "email": "test@example.com", "password": seedPassword}).
		want(t, 200, "step 1").wantBody(t, `{"message": "User registered successfully"}`)

	// 2. Login.
	tok := s.login(seedUser, seedPassword)

	// 3. Store sensitive data.
	r := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "step 3")
	id, _ := r.JSON["id"].(string)
	r.wantBody(t, `{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard+`"}`)
	kept := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": keptCard}).want(t, 200, "step 3b")
	keptID, _ := kept.JSON["id"].(string)

	// 4. Retrieve.
	s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "step 4").
		wantBody(t, `[{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard+`"},
			{"id": "`+keptID+`", "data_type": "card_number", "value": "`+keptCard+`"}]`)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "get one").
		wantBody(t, `{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard+`"}`)

	// 5. Update.
	s.do("PUT", "/sensitive-data/"+id, tok, map[string]string{"data_type": "card_number", "value": seedCard2}).want(t, 200, "step 5").
		wantBody(t, `{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard2+`"}`)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read after update").
		wantBody(t, `{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard2+`"}`)

	// 6. Delete.
	s.do("DELETE", "/sensitive-data/"+id, tok, nil).want(t, 200, "step 6").wantBody(t, `{"message": "Data deleted successfully"}`)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 404, "read after delete")

	// 7. Rotate the master key (the first account is the admin); the kept
	// record still reads.
	s.do("POST", "/rotate-master-key", tok, nil).want(t, 200, "step 7").wantBody(t, `{"message": "Master key rotated successfully"}`)
	s.do("GET", "/sensitive-data/"+keptID, tok, nil).want(t, 200, "read after rotation").
		wantBody(t, `{"id": "`+keptID+`", "data_type": "card_number", "value": "`+keptCard+`"}`)
	st := s.do("GET", "/rotate-master-key", tok, nil).want(t, 200, "rotation status")
	if st.JSON["state"] != "done" || st.JSON["target_version"] != float64(2) || st.JSON["rewrapped"] != float64(1) {
		t.Fatalf("rotation status %s", st.Raw)
	}

	// 8. Enable 2FA: send-otp and verify-otp with the bearer token.
	s.do("POST", "/send-otp", tok, map[string]string{"username": seedUser}).want(t, 200, "step 8.1").
		wantBody(t, `{"message": "OTP sent to your email"}`)
	enrollCode := s.lastCode("test@example.com")
	r = s.do("POST", "/verify-otp", tok, map[string]string{"username": seedUser, "otp": enrollCode}).want(t, 200, "step 8.2")
	tok2, _ := r.JSON["access_token"].(string)
	if tok2 == "" || r.JSON["token_type"] != "bearer" {
		t.Fatalf("verify-otp answer %s", r.Raw)
	}

	// With 2FA on, the password alone gives no token: it answers a
	// challenge that the second step must carry ...
	r = s.do("POST", "/login", "", map[string]string{"username": seedUser, "password": seedPassword}).want(t, 200, "login with 2FA")
	challenge, _ := r.JSON["challenge"].(string)
	if r.JSON["two_factor_required"] != true || r.JSON["access_token"] != nil || len(challenge) < 22 {
		t.Fatalf("login of a 2FA account answered %s", r.Raw)
	}
	firstCode := s.lastCode("test@example.com")
	// A lost code can be sent again without a token; the new one replaces it.
	s.do("POST", "/send-otp", "", map[string]string{"username": seedUser, "challenge": challenge}).want(t, 200, "re-send login code")
	loginCode := s.lastCode("test@example.com")
	if loginCode != firstCode {
		s.do("POST", "/verify-otp", "", map[string]string{"username": seedUser, "otp": firstCode, "challenge": challenge}).want(t, 401, "replaced code")
	}
	// ... the mailed code does, once.
	r = s.do("POST", "/verify-otp", "", map[string]string{"username": seedUser, "otp": loginCode, "challenge": challenge}).want(t, 200, "verify login code")
	tok3, _ := r.JSON["access_token"].(string)
	s.do("GET", "/sensitive-data", tok3, nil).want(t, 200, "token from 2FA login works")
	s.do("POST", "/verify-otp", "", map[string]string{"username": seedUser, "otp": loginCode, "challenge": challenge}).want(t, 401, "code replay")

	return []string{seedPassword, seedCard, seedCard2, keptCard, enrollCode, firstCode, loginCode, tok, tok2, tok3, challenge}
}

func TestWalkthrough(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testWalkthrough)
	// With the master key in Vault: on SQLite, and on MongoDB (production).
	// The server's token has both policies, so the admin may rotate.
	for _, store := range stores {
		t.Run(store+"+vault", func(t *testing.T) {
			t.Parallel()
			testWalkthrough(t, withVault(t, storeConfig(t, store), vault.ServicePolicy, vault.OperatorPolicy))
		})
	}
}

func testWalkthrough(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	secrets := walkthrough(t, s)
	// Nothing secret in the log: not the password, the codes, the card
	// numbers or a token (nor a token's signature alone).
	logs := s.Logs.String()
	if !strings.Contains(logs, "user registered") || !strings.Contains(logs, "mail written to outbox") {
		t.Fatalf("the log is missing expected events:\n%s", logs)
	}
	for _, sec := range secrets {
		// A 6-digit code counts as leaked when it stands alone, not when the
		// same digits happen to sit inside a longer number (a timestamp).
		leaked := strings.Contains(logs, sec)
		if len(sec) == 6 {
			leaked = regexp.MustCompile(`(^|[^0-9A-Za-z])` + sec + `([^0-9A-Za-z]|$)`).MatchString(logs)
		}
		if leaked {
			t.Errorf("log contains a secret %q", sec[:min(8, len(sec))]+"...")
		}
		if parts := strings.Split(sec, "."); len(parts) == 3 && strings.Contains(logs, parts[2]) {
			t.Errorf("log contains a token signature")
		}
	}
}
