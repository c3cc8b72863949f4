// Package okta is a stand-in for the Okta SDK (see ../go.mod): it has just
// the names Vault's Okta MFA check uses, and every call to Okta fails, so
// an Okta MFA method can be configured but no login passes its check.
package okta

import (
	"context"
	"errors"
)

var errNotBuilt = errors.New("okta: the Okta SDK is not built into this Vault")

type Configuration struct{ Context context.Context }

type ConfigSetter func(*Configuration)

func NewConfiguration(conf ...ConfigSetter) (*Configuration, error) {
	c := &Configuration{Context: context.Background()}
	for _, f := range conf {
		f(c)
	}
	return c, nil
}

func WithToken(string) ConfigSetter  { return func(*Configuration) {} }
func WithOrgUrl(string) ConfigSetter { return func(*Configuration) {} }
func WithCache(bool) ConfigSetter    { return func(*Configuration) {} }

type APIClient struct {
	cfg           *Configuration
	UserAPI       *UserAPIService
	UserFactorAPI *UserFactorAPIService
}

func NewAPIClient(cfg *Configuration) *APIClient {
	return &APIClient{cfg: cfg, UserAPI: &UserAPIService{}, UserFactorAPI: &UserFactorAPIService{}}
}

func (c *APIClient) GetConfig() *Configuration { return c.cfg }

type APIResponse struct{}

type User struct{ Id *string }

func (u *User) GetId() string {
	if u.Id == nil {
		return ""
	}
	return *u.Id
}

type UserAPIService struct{}

type ApiListUsersRequest struct{}

func (*UserAPIService) ListUsers(context.Context) ApiListUsersRequest { return ApiListUsersRequest{} }
func (r ApiListUsersRequest) Filter(string) ApiListUsersRequest       { return r }
func (ApiListUsersRequest) Execute() ([]User, *APIResponse, error)    { return nil, nil, errNotBuilt }

type UserFactorPush struct{ Id *string }

func (f *UserFactorPush) GetId() string {
	if f.Id == nil {
		return ""
	}
	return *f.Id
}

type ListFactors200ResponseInner struct{ UserFactorPush *UserFactorPush }

type UserFactorVerifyResponse struct {
	FactorResult *string
	Links        map[string]any
}

func (r *UserFactorVerifyResponse) GetFactorResult() string {
	if r.FactorResult == nil {
		return ""
	}
	return *r.FactorResult
}

type GetFactorTransactionStatus200Response struct {
	UserFactorPushTransactionWaiting  *struct{}
	UserFactorPushTransaction         *struct{}
	UserFactorPushTransactionRejected *struct{}
	UserFactorPushTransactionTimeout  *struct{}
}

type UserFactorAPIService struct{}

type (
	ApiListFactorsRequest                struct{}
	ApiVerifyFactorRequest               struct{}
	ApiGetFactorTransactionStatusRequest struct{}
)

func (*UserFactorAPIService) ListFactors(context.Context, string) ApiListFactorsRequest {
	return ApiListFactorsRequest{}
}

func (*UserFactorAPIService) VerifyFactor(context.Context, string, string) ApiVerifyFactorRequest {
	return ApiVerifyFactorRequest{}
}

func (*UserFactorAPIService) GetFactorTransactionStatus(context.Context, string, string, string) ApiGetFactorTransactionStatusRequest {
	return ApiGetFactorTransactionStatusRequest{}
}

func (ApiListFactorsRequest) Execute() ([]ListFactors200ResponseInner, *APIResponse, error) {
	return nil, nil, errNotBuilt
}

func (ApiVerifyFactorRequest) Execute() (*UserFactorVerifyResponse, *APIResponse, error) {
	return nil, nil, errNotBuilt
}

func (ApiGetFactorTransactionStatusRequest) Execute() (*GetFactorTransactionStatus200Response, *APIResponse, error) {
	return nil, nil, errNotBuilt
}
