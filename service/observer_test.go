package service

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// Every way a login can end has its outcome; refusals for load are told
// apart from lockouts, though both answer 429.
func TestLoginOutcome(t *testing.T) {
	overload := func(kind strongroom.Kind) error {
		return &strongroom.Error{Kind: kind, Err: fmt.Errorf("%w: busy", strongroom.ErrOverload)}
	}
	for _, c := range []struct {
		res  LoginResult
		err  error
		want LoginOutcome
	}{
		{LoginResult{Token: "t"}, nil, LoginSuccess},
		{LoginResult{TwoFactorRequired: true}, nil, LoginSecondFactor},
		{LoginResult{}, errLogin, LoginFailure},
		{LoginResult{}, strongroom.LockedUntil(time.Unix(60, 0), time.Unix(0, 0)), LoginLocked},
		{LoginResult{}, overload(strongroom.KindLocked), LoginRefused},
		{LoginResult{}, overload(strongroom.KindUnavailable), LoginRefused},
		{LoginResult{}, strongroom.Unavailable("store down", errors.New("x")), LoginError},
		{LoginResult{}, strongroom.Invalid("username", "bad"), LoginInvalid},
		{LoginResult{}, errOvertaken, LoginOvertaken},
		{LoginResult{}, errors.New("a bug"), LoginError},
	} {
		if got := loginOutcome(c.res, c.err); got != c.want {
			t.Errorf("loginOutcome(%+v, %v) = %q, want %q", c.res, c.err, got, c.want)
		}
	}
}

func TestFactorKind(t *testing.T) {
	for _, c := range []struct {
		recovery   string
		email, app bool
		want       CodeKind
	}{
		{"ABCDE-FGHIJ", true, true, CodeRecovery},
		{"", true, true, CodeEmailOrTOTP},
		{"", true, false, CodeEmail},
		{"", false, true, CodeTOTP},
	} {
		if got := factorKind(c.recovery, c.email, c.app); got != c.want {
			t.Errorf("factorKind(%q, %v, %v) = %q, want %q", c.recovery, c.email, c.app, got, c.want)
		}
	}
}
