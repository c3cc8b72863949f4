package mongo

import (
	"errors"
	"net/url"
	"strings"
)

// A connection string's user information, found as the driver finds it
// (go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring): after the
// scheme, up to the first "@", the user name, then ":" and the password,
// both percent-encoded.
func userInfo(connString string) (scheme, info, rest string, ok bool) {
	for _, s := range []string{"mongodb://", "mongodb+srv://"} {
		if after, found := strings.CutPrefix(connString, s); found {
			at := strings.Index(after, "@")
			if at < 0 || strings.ContainsAny(after[:at], "/?") {
				return s, "", after, true
			}
			return s, after[:at], after[at+1:], true
		}
	}
	return "", "", "", false
}

// WithPassword returns the connection string with password set for the user
// it names (MONGODB_URL with MONGODB_PASSWORD, so that a Compose secret
// holds the password alone). It fails if the string names no user or
// already holds a password. Neither error message holds either argument.
func WithPassword(connString, password string) (string, error) {
	scheme, info, rest, ok := userInfo(connString)
	switch {
	case !ok:
		return "", errors.New(`the connection string must start with "mongodb://" or "mongodb+srv://"`)
	case info == "":
		return "", errors.New("the connection string names no user for the password: write it as mongodb://USER@host/")
	case strings.Contains(info, ":"):
		return "", errors.New("the connection string already holds a password: set it there or in the password variable, not both")
	}
	return scheme + info + ":" + escapeUserInfo(password) + "@" + rest, nil
}

// escapeUserInfo percent-encodes every byte but the unreserved ones of RFC
// 3986, which the driver's url.PathUnescape turns back into the password.
func escapeUserInfo(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// redact removes the connection string's password from msg, as written in
// the string and decoded.
func redact(msg, connString string) string {
	_, info, _, _ := userInfo(connString)
	_, pw, found := strings.Cut(info, ":")
	if !found || pw == "" {
		return msg
	}
	if dec, err := url.PathUnescape(pw); err == nil && dec != "" {
		msg = strings.ReplaceAll(msg, dec, "<redacted>")
	}
	return strings.ReplaceAll(msg, pw, "<redacted>")
}
