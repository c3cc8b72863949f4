// Package passkey is the relying party of WebAuthn for Strongroom: it
// makes the options a browser's navigator.credentials.create and .get
// take, and checks their answers, with github.com/go-webauthn/webauthn.
// It keeps no state: the caller stores each ceremony's challenge (as a
// keyed hash, used once) and the registered passkeys.
//
// Every ceremony requires user verification (a PIN or a biometric on the
// authenticator), since a passkey stands for both factors: something the
// user has, unlocked by something the user knows or is. Registration asks
// for a discoverable credential, so signing in needs no username.
package passkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/strongroom/strongroom"
)

// Timeout is how long a ceremony may take, as the browser is told and as
// the caller keeps its challenge.
const Timeout = 5 * time.Minute

// RP is a relying party: one origin, whose host name is the RP ID.
type RP struct {
	w         *webauthn.WebAuthn
	origin    string
	handleKey []byte // keys the user handles (Handle)
}

// New returns the relying party for publicURL, the origin users reach
// Strongroom at (https://vault.example.com, or http://localhost:8000 on a
// developer's machine; a browser allows passkeys only on https or
// localhost). Its host name is the RP ID, so it must be a name, not an
// IP address. The user handles it gives authenticators are keyed by a key
// derived from pepper (Handle).
func New(publicURL, displayName string, pepper []byte) (*RP, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("passkey: public URL %q must be an origin such as https://vault.example.com", publicURL)
	}
	origin := u.Scheme + "://" + u.Host
	w, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: displayName, RPOrigins: []string{origin},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	host := u.Hostname()
	if err := protocol.ValidateRPID(host); err != nil || strings.Trim(host, "0123456789.:[]") == "" {
		return nil, fmt.Errorf("passkey: public URL %q: its host must be a domain name (not an IP address)", publicURL)
	}
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("passkey: public URL %q: browsers make passkeys only on https (or http://localhost)", publicURL)
	}
	return &RP{w: w, origin: origin, handleKey: HandleKey(pepper)}, nil
}

// HandleKey derives the key of the user handles from the pepper:
// HMAC-SHA256(pepper, "strongroom/passkey-handle/v1").
func HandleKey(pepper []byte) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("strongroom/passkey-handle/v1"))
	return m.Sum(nil)
}

// Origin is the origin passkeys are made for.
func (rp *RP) Origin() string { return rp.origin }

// user is an account as WebAuthn sees it.
type user struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// Handle is the user handle of an account, which every authenticator
// keeps with the account's passkeys and gives back at each sign-in:
// HMAC-SHA256(HandleKey, user id), 32 bytes that name no one and tell
// nothing of the account (its id alone would tell when it was made).
// It cannot change for an account while its passkeys are to work.
func (rp *RP) Handle(userID string) []byte {
	m := hmac.New(sha256.New, rp.handleKey)
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// Ceremony is what a browser is given to start one: Options (JSON, the
// argument of navigator.credentials.create or .get) and the Challenge in
// it, for the caller to keep.
type Ceremony struct {
	Options   json.RawMessage
	Challenge string // base64url, as the answer's client data carries it
}

// BeginRegistration starts adding a passkey to the account (userID,
// username); exclude are its passkeys' credential ids, which the browser
// will not make again.
func (rp *RP) BeginRegistration(userID, username string, exclude [][]byte) (Ceremony, error) {
	descs := make([]protocol.CredentialDescriptor, len(exclude))
	for i, id := range exclude {
		descs[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
	}
	creation, session, err := rp.w.BeginRegistration(&user{handle: rp.Handle(userID), name: username}, webauthn.WithExclusions(descs))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return ceremony(creation, session.Challenge)
}

// BeginLogin starts a sign-in with any passkey of this relying party (a
// discoverable credential: the authenticator says whose).
func (rp *RP) BeginLogin() (Ceremony, error) {
	assertion, session, err := rp.w.BeginDiscoverableLogin()
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	return ceremony(assertion, session.Challenge)
}

func ceremony(options any, challenge string) (Ceremony, error) {
	b, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: %w", err)
	}
	return Ceremony{Options: b, Challenge: challenge}, nil
}

// ErrInvalid is an answer that is not a WebAuthn credential of the right
// shape; ErrRefused one that is, but fails verification (wrong origin,
// challenge, signature, no user verification...). Neither names the
// detail: it goes to the log via the wrapped error.
var (
	ErrInvalid = errors.New("passkey: not a well-formed WebAuthn answer")
	ErrRefused = errors.New("passkey: the authenticator's answer did not verify")
)

// Registration is a parsed answer to navigator.credentials.create.
type Registration struct {
	parsed    *protocol.ParsedCredentialCreationData
	Challenge string // the challenge it answers, unverified until Verify
}

// ParseRegistration parses the JSON of a PublicKeyCredential from
// navigator.credentials.create (its toJSON form).
func ParseRegistration(b []byte) (*Registration, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &Registration{parsed: p, Challenge: p.Response.CollectedClientData.Challenge}, nil
}

// Verify checks the answer (origin, relying party, user verification,
// the challenge it signs) and returns the passkey to store for userID
// (without ID, Name and times). An attestation does not name the user:
// whose passkey it is comes from r.Challenge alone, which the caller must
// have found live and bound to userID's session, and taken.
func (rp *RP) Verify(r *Registration, userID string) (*strongroom.Passkey, error) {
	u := &user{handle: rp.Handle(userID)}
	session := webauthn.SessionData{Challenge: r.Challenge, UserID: u.handle, UserVerification: protocol.VerificationRequired,
		CredParams: webauthn.CredentialParametersDefault()}
	c, err := rp.w.CreateCredential(u, session, r.parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	if len(c.ID) == 0 || len(c.ID) > strongroom.MaxCredentialIDLen {
		return nil, fmt.Errorf("%w: credential id of %d bytes", ErrRefused, len(c.ID))
	}
	transports := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		transports[i] = string(t)
	}
	return &strongroom.Passkey{UserID: userID, CredentialID: c.ID, PublicKey: c.PublicKey, AAGUID: c.Authenticator.AAGUID,
		SignCount: c.Authenticator.SignCount, BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
		Transports: transports}, nil
}

// Assertion is a parsed answer to navigator.credentials.get.
type Assertion struct {
	parsed       *protocol.ParsedCredentialAssertionData
	Challenge    string // the challenge it answers, unverified until Verify
	CredentialID []byte // the passkey it claims to be made with
	UserHandle   []byte // whose the authenticator says it is
}

// ParseAssertion parses the JSON of a PublicKeyCredential from
// navigator.credentials.get (its toJSON form).
func ParseAssertion(b []byte) (*Assertion, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &Assertion{parsed: p, Challenge: p.Response.CollectedClientData.Challenge, CredentialID: p.RawID,
		UserHandle: p.Response.UserHandle}, nil
}

// Use is what a verified sign-in tells of the passkey, to store.
type Use struct {
	SignCount   uint32
	BackupState bool
}

// Verify checks a sign-in made with stored passkey pk (the one whose
// credential id a.CredentialID is), answering a challenge the caller kept
// and has taken. A signature counter that does not move on (but for
// authenticators that keep it at 0) is refused: a cloned authenticator.
func (rp *RP) VerifyAssertion(a *Assertion, pk *strongroom.Passkey) (Use, error) {
	if !bytes.Equal(a.UserHandle, rp.Handle(pk.UserID)) {
		return Use{}, fmt.Errorf("%w: the user handle is not the passkey's owner's", ErrRefused)
	}
	cred := webauthn.Credential{ID: pk.CredentialID, PublicKey: pk.PublicKey,
		Flags:         webauthn.CredentialFlags{BackupEligible: pk.BackupEligible, BackupState: pk.BackupState, UserPresent: true, UserVerified: true},
		Authenticator: webauthn.Authenticator{AAGUID: pk.AAGUID, SignCount: pk.SignCount}}
	u := &user{handle: rp.Handle(pk.UserID), creds: []webauthn.Credential{cred}}
	session := webauthn.SessionData{Challenge: a.Challenge, UserVerification: protocol.VerificationRequired}
	_, c, err := rp.w.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) { return u, nil }, session, a.parsed)
	if err != nil {
		return Use{}, fmt.Errorf("%w: %w", ErrRefused, detailed(err))
	}
	if c.Authenticator.CloneWarning {
		return Use{}, fmt.Errorf("%w: signature counter %d after %d: a cloned authenticator?", ErrRefused,
			a.parsed.Response.AuthenticatorData.Counter, pk.SignCount)
	}
	return Use{SignCount: c.Authenticator.SignCount, BackupState: c.Flags.BackupState}, nil
}

// detailed adds the library's detail (which names the failed check) to
// its error.
func detailed(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w (%s)", err, pe.DevInfo)
	}
	return err
}
