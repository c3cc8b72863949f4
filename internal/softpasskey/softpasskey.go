// Package softpasskey is a WebAuthn authenticator in software, for tests
// that play a browser and its passkeys over real sockets: it answers the
// options Strongroom gives with the JSON a browser's
// PublicKeyCredential.toJSON() makes ("none" attestation, ES256 keys). Its
// knobs make the answers an attacker could send: another origin, no user
// verification, a counter set back, a stolen credential's id.
package softpasskey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds passkeys, as a phone or a security key does.
type Authenticator struct {
	// Origin is the page's origin the browser puts in the client data.
	Origin string
	// NoUserVerification answers as if no PIN or biometric was asked.
	NoUserVerification bool
	Creds              []*Credential
}

// Credential is one passkey: its id, private key, user handle and counter.
type Credential struct {
	ID         []byte
	Key        *ecdsa.PrivateKey
	RPID       string
	UserHandle []byte
	// Counter is the signature counter: each signature moves it on by one
	// first, unless Counter is kept at 0 by Synced.
	Counter uint32
	Synced  bool // a synced passkey (backup eligible and backed up): counter stays 0
}

var b64 = base64.RawURLEncoding

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		UserVerification       string `json:"userVerification"`
		AuthenticatorSelection struct {
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	} `json:"publicKey"`
}

func parse(optionsJSON []byte) (*options, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("softpasskey: options: %w", err)
	}
	if o.PublicKey.Challenge == "" {
		return nil, errors.New("softpasskey: options without a challenge")
	}
	return &o, nil
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) flags(c *Credential, attested bool) byte {
	f := byte(0x01) // user present
	if !a.NoUserVerification {
		f |= 0x04
	}
	if c.Synced {
		f |= 0x08 | 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

// Create answers registration options (POST /passkeys/register/options)
// with a new passkey, as navigator.credentials.create would.
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, *Credential, error) {
	return a.CreateWithID(optionsJSON, nil)
}

// CreateWithID is Create with the credential id id (nil: a random one),
// as an attacker may choose it.
func (a *Authenticator) CreateWithID(optionsJSON, id []byte) ([]byte, *Credential, error) {
	o, err := parse(optionsJSON)
	if err != nil {
		return nil, nil, err
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("softpasskey: user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if id == nil {
		id = make([]byte, 16)
		rand.Read(id)
	}
	c := &Credential{ID: id, Key: key, RPID: o.PublicKey.RP.ID, UserHandle: handle}
	a.Creds = append(a.Creds, c)
	raw, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, nil, err
	}
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		return nil, nil, err
	}
	rpHash := sha256.Sum256([]byte(c.RPID))
	auth := append(rpHash[:], a.flags(c, true))
	auth = binary.BigEndian.AppendUint32(auth, c.Counter)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out, c, err
}

// Get answers sign-in options (POST /passkeys/login/options) with
// credential c, as navigator.credentials.get would.
func (a *Authenticator) Get(optionsJSON []byte, c *Credential) ([]byte, error) {
	o, err := parse(optionsJSON)
	if err != nil {
		return nil, err
	}
	return a.Sign(o.PublicKey.Challenge, c)
}

// Sign answers challenge (base64url, as the options carry it) with c.
func (a *Authenticator) Sign(challenge string, c *Credential) ([]byte, error) {
	if !c.Synced {
		c.Counter++
	}
	return a.SignClientData(c, a.clientData("webauthn.get", challenge), c.Counter)
}

// SignClientData answers with c over any client data cd (what a hostile
// page or client may put there) and counter, leaving c's counter as is.
func (a *Authenticator) SignClientData(c *Credential, cd []byte, counter uint32) ([]byte, error) {
	rpHash := sha256.Sum256([]byte(c.RPID))
	auth := append(rpHash[:], a.flags(c, false))
	auth = binary.BigEndian.AppendUint32(auth, counter)
	cdHash := sha256.Sum256(cd)
	signed := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, signed[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(auth),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}
