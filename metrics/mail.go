package metrics

import (
	"context"
	"time"

	"github.com/strongroom/strongroom"
)

// Mailer returns ml with each delivery counted by result and timed: a
// rising error count is an SMTP server that is down or refuses, which
// users see as codes that never arrive.
func (m *Metrics) Mailer(ml strongroom.Mailer) strongroom.Mailer { return &mailer{ml: ml, m: m} }

type mailer struct {
	ml strongroom.Mailer
	m  *Metrics
}

func (ml *mailer) Send(ctx context.Context, msg strongroom.Mail) (err error) {
	start := time.Now()
	defer func() {
		ml.m.mailDuration.Observe(time.Since(start).Seconds())
		ml.m.mails.WithLabelValues(result(err)).Inc()
	}()
	return ml.ml.Send(ctx, msg)
}
