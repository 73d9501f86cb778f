package web

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/guichet/guichet/ticket"
)

// Portal is what the pages need of the ticket service (*ticket.Service). Every method
// that reads or changes a ticket applies the access rules itself.
type Portal interface {
	// Sign-in and sessions.
	Authenticate(ctx context.Context, email, password string) (ticket.User, error)
	NewSession(ctx context.Context, userID int64, ttl time.Duration) (string, error)
	SessionUser(ctx context.Context, token string) (ticket.User, error)
	EndSession(ctx context.Context, token string) error
	RequestSignInLink(ctx context.Context, email, next string) error
	UseSignInLink(ctx context.Context, token string) (ticket.User, error)

	// Profile and API tokens.
	Account(ctx context.Context, userID int64) (ticket.Account, error)
	UpdateProfile(ctx context.Context, u ticket.User, p ticket.Profile) (ticket.User, error)
	SetPassword(ctx context.Context, u ticket.User, old, new string) error
	SetAvatar(ctx context.Context, u ticket.User, contentType, sha256 string, size int64) error
	RequestNotifyAddress(ctx context.Context, u ticket.User, email string) error
	ConfirmNotifyAddress(ctx context.Context, token string) (ticket.User, error)
	CreateToken(ctx context.Context, u ticket.User, name string) (string, error)
	ListTokens(ctx context.Context, u ticket.User) ([]ticket.APIToken, error)
	RevokeToken(ctx context.Context, u ticket.User, id int64) error

	// Tickets.
	Search(ctx context.Context, u ticket.User, f ticket.Filter) (ticket.Page, error)
	RequestTypes(ctx context.Context) ([]string, error)
	DetailFor(ctx context.Context, u ticket.User, key string) (*ticket.Detail, error)
	CreateTicket(ctx context.Context, creator ticket.User, req ticket.TicketRequest) (*ticket.Ticket, error)
	AddComment(ctx context.Context, actor ticket.User, key string, in ticket.CommentInput) (int64, error)
	ChangeStatus(ctx context.Context, actor ticket.User, key string, st ticket.Status) error
	AddParticipant(ctx context.Context, actor ticket.User, key string, addr ticket.Address) error
	RemoveParticipant(ctx context.Context, actor ticket.User, key, email string) error
	Assign(ctx context.Context, actor ticket.User, key, email string) error
	Merge(ctx context.Context, actor ticket.User, fromKey, intoKey string) (*ticket.Ticket, error)
	Mute(ctx context.Context, key, email, token string, muted bool) error

	Dashboard(ctx context.Context, actor ticket.User, weeks int, loc *time.Location) (ticket.Dashboard, error)

	// Agents' saved replies.
	SavedReplies(ctx context.Context, actor ticket.User) ([]ticket.SavedReply, error)
	SavedReply(ctx context.Context, actor ticket.User, name string) (ticket.SavedReply, error)
	SaveReply(ctx context.Context, actor ticket.User, r ticket.SavedReply) (ticket.SavedReply, error)
	DeleteReply(ctx context.Context, actor ticket.User, name string) error
	ReplyFor(ctx context.Context, agent ticket.User, key, name string) (string, error)

	// Satisfaction: the rating links of closing mails, the ticket page, the agents' report.
	RatingFor(ctx context.Context, key, email, token string) (ticket.RatingForm, error)
	Rate(ctx context.Context, key, email, token string, score int, comment string) (ticket.Rating, error)
	RatingsOf(ctx context.Context, u ticket.User, key string) (ticket.TicketRatings, error)
	Satisfaction(ctx context.Context, actor ticket.User, from, to time.Time) (ticket.SatisfactionReport, error)

	DefaultDesk() ticket.Desk
	SupportAddress() string

	// Agents: stored inbound mail.
	ListInbound(ctx context.Context, state string, limit int) ([]ticket.InboundItem, error)
	OpenInboundRaw(ctx context.Context, id int64) (io.ReadCloser, error)
}

var _ Portal = (*ticket.Service)(nil)

// Blobs keeps file content by SHA-256 (cmd passes a *blob.Store). OpenBlob's error
// matches fs.ErrNotExist for content that is not stored.
type Blobs interface {
	PutBlob(ctx context.Context, r io.Reader) (string, int64, error)
	OpenBlob(ctx context.Context, sum string) (io.ReadCloser, error)
}

// portalRoutes registers the pages. Routes that change state go through h.post, which
// rejects cross-origin requests; routes of signed-in users through h.user.
func (h *Handler) portalRoutes() {
	m := h.mux
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	if len(h.opt.Brand.Logo) > 0 {
		m.HandleFunc("GET /logo", h.logo)
	}

	// Open to everyone.
	m.HandleFunc("GET /login", h.loginForm)
	m.Handle("POST /login", h.post(http.HandlerFunc(h.login)))
	m.Handle("POST /login/link", h.post(http.HandlerFunc(h.loginLinkRequest)))
	m.HandleFunc("GET /login/link", h.loginLinkForm)
	m.Handle("POST /login/link/use", h.post(http.HandlerFunc(h.loginLink)))
	m.Handle("POST /logout", h.post(http.HandlerFunc(h.logout)))
	m.HandleFunc("GET /accessibility", h.accessibility)
	m.HandleFunc("/", h.notFound) // any other path: the portal's 404 page
	m.HandleFunc("GET /requests/{key}/stop", h.stopForm)
	m.Handle("POST /requests/{key}/stop", h.post(http.HandlerFunc(h.stop)))
	m.HandleFunc("GET /requests/{key}/satisfaction", h.ratingForm)
	m.Handle("POST /requests/{key}/satisfaction", h.post(http.HandlerFunc(h.rate)))

	// Signed-in users.
	m.Handle("GET /{$}", h.user(h.home))
	m.Handle("GET /profile/confirm", h.user(h.confirmNotifyForm))
	m.Handle("POST /profile/confirm", h.post(h.user(h.confirmNotify)))
	m.Handle("GET /requests", h.user(h.requests))
	m.Handle("GET /requests/new", h.user(h.requestForm))
	m.Handle("POST /requests/new", h.post(h.user(h.requestCreate)))
	m.Handle("GET /requests/{key}", h.user(h.ticketPage))
	m.Handle("POST /requests/{key}/comments", h.post(h.user(h.comment)))
	m.Handle("POST /requests/{key}/participants", h.post(h.user(h.participantAdd)))
	m.Handle("POST /requests/{key}/participants/remove", h.post(h.user(h.participantRemove)))
	m.Handle("POST /requests/{key}/status", h.post(h.user(h.status)))
	m.Handle("POST /requests/{key}/assign", h.post(h.user(h.assign)))
	m.Handle("POST /requests/{key}/merge", h.post(h.user(h.merge)))
	m.Handle("GET /requests/{key}/attachments/{sha}", h.user(h.attachment))
	m.Handle("GET /profile", h.user(h.profile))
	m.Handle("POST /profile", h.post(h.user(h.profileSave)))
	m.Handle("GET /profile/avatar", h.user(h.avatar))
	m.Handle("POST /profile/avatar", h.post(h.user(h.avatarSave)))
	m.Handle("POST /profile/password", h.post(h.user(h.passwordSave)))
	m.Handle("POST /profile/notify", h.post(h.user(h.notifySave)))
	m.Handle("POST /profile/tokens", h.post(h.user(h.tokenCreate)))
	m.Handle("POST /profile/tokens/{id}/revoke", h.post(h.user(h.tokenRevoke)))

	// Agents.
	m.Handle("GET /agent/phone", h.agent(h.phoneForm))
	m.Handle("POST /agent/phone", h.post(h.agent(h.phoneCreate)))
	m.Handle("GET /agent/held", h.agent(h.inboundHeld))
	m.Handle("GET /agent/failed", h.agent(h.inboundFailed))
	m.Handle("GET /inbound/{id}/raw", h.agent(h.inboundRaw))
	m.Handle("GET /agent/dashboard", h.agent(h.dashboard))
	m.Handle("GET /agent/dashboard.csv", h.agent(h.dashboardCSV))
	m.Handle("GET /agent/replies", h.agent(h.replies))
	m.Handle("GET /agent/replies/{name}", h.agent(h.replies))
	m.Handle("POST /agent/replies", h.post(h.agent(h.replySave)))
	m.Handle("POST /agent/replies/{name}/delete", h.post(h.agent(h.replyDelete)))
	m.Handle("GET /agent/satisfaction", h.agent(h.satisfaction))
}
