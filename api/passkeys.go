package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom/service"
)

type (
	// optionsOut is a WebAuthn options object, passed through as made.
	optionsOut struct {
		Body json.RawMessage `doc:"{\"publicKey\": ...}: for navigator.credentials.create (registration) or .get (sign-in), after decoding its base64url fields (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON do it)"`
	}
	addPasskeyBody struct {
		Name       passkeyName    `json:"name,omitempty" example:"Laptop" doc:"your label for it (default \"Passkey\")"`
		Credential credentialJSON `json:"credential" doc:"the PublicKeyCredential navigator.credentials.create answered, as JSON (its toJSON())"`
	}
	passkeyLoginBody struct {
		Credential credentialJSON `json:"credential" doc:"the PublicKeyCredential navigator.credentials.get answered, as JSON (its toJSON())"`
	}
	passkeyBody struct {
		ID         string     `json:"id"`
		Name       string     `json:"name"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"absent if never used to sign in"`
		Synced     bool       `json:"synced" doc:"backed up to the user's other devices by its provider"`
	}
	passkeyOut  struct{ Body passkeyBody }
	passkeysOut struct{ Body []passkeyBody }
	// PasskeyPath names one passkey (exported: see RecordPath).
	PasskeyPath struct {
		ID recordID `path:"id" doc:"the passkey's id, from GET /passkeys"`
	}
	deletePasskeyIn struct {
		PasskeyPath
		Body reauthBody
	}
)

// credentialJSON is a PublicKeyCredential in the form its toJSON() gives,
// passed on as sent. Its schema states the shape a document can: an
// object with a string id, type "public-key" and a response object; the
// rest only its verification can check (401 when it fails).
type credentialJSON []byte

func (c *credentialJSON) UnmarshalJSON(b []byte) error {
	*c = append((*c)[:0], b...)
	return nil
}

func (c credentialJSON) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	return c, nil
}

func (credentialJSON) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, Required: []string{"id", "type", "response"},
		Properties: map[string]*huma.Schema{
			"id":       {Type: huma.TypeString, Description: "the credential id, base64url"},
			"rawId":    {Type: huma.TypeString, Description: "the same"},
			"type":     {Type: huma.TypeString, Enum: []any{"public-key"}},
			"response": {Type: huma.TypeObject, Description: "the authenticator's answer: clientDataJSON and attestationObject, or clientDataJSON, authenticatorData, signature and userHandle (base64url)"},
		}}
}

func toPasskey(v service.PasskeyView) passkeyBody {
	b := passkeyBody{ID: v.ID, Name: v.Name, CreatedAt: v.CreatedAt, Synced: v.Synced}
	if !v.LastUsedAt.IsZero() {
		b.LastUsedAt = &v.LastUsedAt
	}
	return b
}

func (s *Server) passkeyRoutes() {
	handle(s, huma.Operation{
		OperationID: "passkey-register-options", Method: http.MethodPost, Path: "/passkeys/register/options", Tags: []string{"passkeys"},
		Summary: "Start adding a passkey",
		Description: "Needs the password and, while a second factor is on, a current one: a bearer token alone cannot add a way in. " +
			"Answers the options for navigator.credentials.create (a discoverable credential, user verification required). " +
			"Send its answer to POST /passkeys/register with the same token within 5 minutes. An account has at most 20 passkeys (409).",
		Errors: []int{c401, c403, c409, c429, c503},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body reauthBody }) (*optionsOut, error) {
		opts, err := s.svc.PasskeyRegistrationOptions(ctx, p, client(ctx), string(in.Body.Password), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		return &optionsOut{Body: opts}, nil
	})

	handle(s, huma.Operation{
		OperationID: "passkey-register", Method: http.MethodPost, Path: "/passkeys/register", Tags: []string{"passkeys"},
		Summary: "Add a passkey", DefaultStatus: http.StatusCreated,
		Description: "Checks the authenticator's answer to the options of /passkeys/register/options (this session's, each used once: " +
			"404 otherwise) for this server's origin (STRONGROOM_PUBLIC_URL), with user verification (401 otherwise), and stores its " +
			"public key; 409 if the account has 20 passkeys or this one is registered. The owner is mailed a notice.",
		Errors: []int{c401, c404, c409, c422, c429, c503},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body addPasskeyBody }) (*passkeyOut, error) {
		v, err := s.svc.FinishPasskeyRegistration(ctx, p, client(ctx), string(in.Body.Name), in.Body.Credential)
		if err != nil {
			return nil, err
		}
		return &passkeyOut{Body: toPasskey(v)}, nil
	})

	handle(s, huma.Operation{
		OperationID: "list-passkeys", Method: http.MethodGet, Path: "/passkeys", Tags: []string{"passkeys"},
		Summary: "The caller's passkeys, oldest first", Description: "No key material: names, dates and whether each is synced.",
	}, tokenHolder, func(ctx context.Context, p *service.Principal, _ *noInput) (*passkeysOut, error) {
		list, err := s.svc.Passkeys(ctx, p)
		if err != nil {
			return nil, err
		}
		out := &passkeysOut{Body: make([]passkeyBody, len(list))}
		for i, v := range list {
			out.Body[i] = toPasskey(v)
		}
		return out, nil
	})

	handle(s, huma.Operation{
		OperationID: "delete-passkey", Method: http.MethodDelete, Path: "/passkeys/{id}", Tags: []string{"passkeys"},
		Summary: "Remove a passkey",
		Description: "Needs the password (and a current second factor while one is on), like adding one. Every other session of the " +
			"account ends, as with a password change (one opened with this passkey included). Another user's passkey id answers 404.",
		Errors: []int{c401, c403, c404, c429, c503},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *deletePasskeyIn) (*messageOut, error) {
		if err := s.svc.DeletePasskey(ctx, p, client(ctx), string(in.ID), string(in.Body.Password), string(in.Body.OTP)); err != nil {
			return nil, err
		}
		return message("Passkey removed"), nil
	})

	handle(s, huma.Operation{
		OperationID: "passkey-login-options", Method: http.MethodPost, Path: "/passkeys/login/options", Tags: []string{"passkeys"},
		Summary:     "Start signing in with a passkey",
		Description: "Answers the options for navigator.credentials.get. They name no account: the authenticator offers its passkeys for this site.",
		Errors:      []int{c429, c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, _ *noInput) (*optionsOut, error) {
		opts, err := s.svc.PasskeyLoginOptions(ctx, client(ctx))
		if err != nil {
			return nil, err
		}
		return &optionsOut{Body: opts}, nil
	})

	handle(s, huma.Operation{
		OperationID: "passkey-login", Method: http.MethodPost, Path: "/passkeys/login", Tags: []string{"passkeys"},
		Summary: "Sign in with a passkey",
		Description: "Checks the authenticator's answer to the options of /passkeys/login/options (each answered once, within 5 minutes) and " +
			"answers a bearer token: a passkey is both factors, no password or code follows. Every failure answers alike (401), " +
			"and one made with a stored passkey counts in its account's login lockout like a wrong password. A verified answer " +
			"is not refused by a lockout (it is no guess) and clears it. 429: too many attempts from this address.",
		Errors: []int{c401, c422, c429, c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, in *struct{ Body passkeyLoginBody }) (*tokenOut, error) {
		tok, err := s.svc.PasskeyLogin(ctx, client(ctx), in.Body.Credential)
		if err != nil {
			return nil, err
		}
		return token(tok), nil
	})
}
