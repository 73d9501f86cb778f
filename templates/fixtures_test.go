package templates

import (
	"time"

	"github.com/guichet/guichet/ticket"
)

// created is 2026-11-28 12:21 UTC, 13:21 in Paris.
var created = time.Date(2026, 11, 28, 12, 21, 0, 0, time.UTC)

func sampleTicket() ticket.TicketView {
	return ticket.TicketView{
		Key:           "AURAN1-13",
		Summary:       "Impossible d'accéder à l'ENT",
		Description:   "Bonjour,\n\nDepuis ce matin, les élèves ne peuvent plus se connecter.\nMerci.",
		Status:        ticket.StatusNew,
		Requester:     ticket.Address{Name: "Élodie Martin", Email: "elodie.martin@ac-lyon.fr"},
		UAI:           "0690026D",
		Establishment: "Collège Jean Moulin",
		URL:           "https://ent.example.fr/",
		Academie:      "Lyon",
		Components:    "Messagerie",
		Phone:         "04 72 00 00 00",
		IncidentStart: "ce matin, 8 h",
		AffectedUsers: "Élèves de 4e",
		RequestType:   "Incident",
		Source:        ticket.SourceEmail,
		CreatedAt:     created,
	}
}

// fixtures are the sample mails of the golden tests, by case name; each is rendered in
// every language.
func fixtures() map[string]ticket.OutboxMail {
	base := func(kind ticket.MailKind, to ticket.Address) ticket.OutboxMail {
		return ticket.OutboxMail{
			ID:        1,
			Kind:      kind,
			TicketKey: "AURAN1-13",
			To:        to,
			TimeZone:  "Europe/Paris",
			MessageID: "guichet.1@localhost",
			CreatedAt: created,
			Data: ticket.MailData{
				Ticket:   sampleTicket(),
				Link:     "http://127.0.0.1:8080/requests/AURAN1-13",
				DeskName: "Assistance ENT",
			},
		}
	}
	requester := ticket.Address{Name: "Élodie Martin", Email: "elodie.martin@ac-lyon.fr"}
	agent := ticket.Address{Name: "Paul Agent", Email: "paul@support.example"}

	confirmation := base(ticket.MailConfirmation, requester)
	confirmation.ToRole = ticket.RoleCustomer

	agentNew := base(ticket.MailAgentNew, agent)
	agentNew.ToRole = ticket.RoleAgent
	agentNew.Data.Attachments = []ticket.Attachment{
		{Filename: "capture écran.png", ContentType: "image/png", Size: 48213, SHA256: "aa"},
		{Filename: "journal.txt", ContentType: "text/plain", Size: 312, SHA256: "bb"},
	}
	agentNew.Data.NotAttached = []ticket.Attachment{
		{Filename: "vidéo de la panne.mp4", ContentType: "video/mp4", Size: 48 << 20, SHA256: "cc"},
	}

	reply := base(ticket.MailComment, requester)
	reply.ToRole = ticket.RoleCustomer
	reply.Data.Ticket.Status = ticket.StatusWaitingUser
	reply.Data.Comment = &ticket.CommentView{
		Author:     agent,
		AuthorRole: ticket.RoleAgent,
		Body:       "Bonjour,\n\nPouvez-vous nous envoyer une capture d'écran ?\n\nPaul",
		Visibility: ticket.Public,
		CreatedAt:  created.Add(2 * time.Hour),
	}

	note := base(ticket.MailComment, ticket.Address{Name: "Anne Agent", Email: "anne@support.example"})
	note.ToRole = ticket.RoleAgent
	note.Data.Ticket.Status = ticket.StatusInProgress
	note.Data.Comment = &ticket.CommentView{
		Author:     agent,
		AuthorRole: ticket.RoleAgent,
		Body:       "Vu avec l'éditeur : correctif prévu demain.",
		Visibility: ticket.Internal,
		CreatedAt:  created.Add(3 * time.Hour),
	}

	customer := base(ticket.MailComment, agent)
	customer.ToRole = ticket.RoleAgent
	customer.Data.Ticket.Status = ticket.StatusInProgress
	customer.Data.Comment = &ticket.CommentView{
		Author:     requester,
		AuthorRole: ticket.RoleCustomer,
		Body:       "Voici la capture demandée.",
		Visibility: ticket.Public,
		CreatedAt:  created.Add(4 * time.Hour),
	}
	customer.Data.Attachments = []ticket.Attachment{
		{Filename: "capture.png", ContentType: "image/png", Size: 2 << 20, SHA256: "cc"},
	}

	status := base(ticket.MailStatus, requester)
	status.ToRole = ticket.RoleCustomer
	status.Data.Ticket.Status = ticket.StatusWaitingUser
	status.Data.OldStatus = ticket.StatusInProgress

	// A customer participant is sent the requester's comment, with a stop link.
	participant := base(ticket.MailComment, ticket.Address{Name: "Marc Durand", Email: "marc.durand@ac-lyon.fr"})
	participant.ToRole = ticket.RoleCustomer
	participant.Data.Ticket.Status = ticket.StatusInProgress
	participant.Data.Comment = customer.Data.Comment
	participant.Data.StopLink = "http://127.0.0.1:8080/stop/AURAN1-13/bWFyYy5kdXJhbmQ.k3j4h5"

	// An agent's public answer, sent to an agent who follows the ticket as a participant.
	agentReply := base(ticket.MailComment, ticket.Address{Name: "Anne Agent", Email: "anne@support.example"})
	agentReply.ToRole = ticket.RoleAdmin
	agentReply.Data.Ticket.Status = ticket.StatusWaitingUser
	agentReply.Data.Comment = reply.Data.Comment
	agentReply.Data.StopLink = "http://127.0.0.1:8080/stop/AURAN1-13/YW5uZQ.m5n6p7"

	// The closing mail to the requester asks for a rating.
	closed := base(ticket.MailStatus, requester)
	closed.ToRole = ticket.RoleCustomer
	closed.Data.Ticket.Status = ticket.StatusClosed
	closed.Data.OldStatus = ticket.StatusInProgress
	closed.Data.RatingURL = "http://127.0.0.1:8080/requests/AURAN1-13/satisfaction?a=elodie.martin%40ac-lyon.fr&t=1796724000.3.abcdefghijklmnopqrstuvwx"

	// An agent's answer that closes the ticket (#fermer) asks the rating too.
	closedReply := reply
	closedReply.Data.Ticket.Status = ticket.StatusClosed
	closedReply.Data.OldStatus = ticket.StatusInProgress
	closedReply.Data.RatingURL = closed.Data.RatingURL

	statusAgent := base(ticket.MailStatus, agent)
	statusAgent.ToRole = ticket.RoleAgent
	statusAgent.Data.Ticket.Status = ticket.StatusClosed
	statusAgent.Data.OldStatus = ticket.StatusWaitingUser

	refused := base(ticket.MailNotice, agent)
	refused.ToRole = ticket.RoleAgent
	refused.Data.Ticket.Status = ticket.StatusInProgress
	refused.Data.Notice = "Votre message n'a pas été appliqué : commande inconnue « #foo »."
	refused.Data.StopLink = "http://127.0.0.1:8080/stop/AURAN1-13/cGF1bA.q8r9s0"

	held := base(ticket.MailNotice, agent)
	held.ToRole = ticket.RoleAgent
	held.Data.Ticket.Status = ticket.StatusInProgress
	held.Data.Notice = "Un message envoyé en votre nom a été retenu faute de preuve d'expéditeur.\r\n" +
		"Répondez à ce message pour le confirmer.\n\n<De : paul@support.example>"

	slaWarning := base(ticket.MailSLAWarning, agent)
	slaWarning.ToRole = ticket.RoleAgent
	slaWarning.Data.Ticket.Status = ticket.StatusNew
	slaWarning.Data.SLA = &ticket.SLAWarning{Measure: ticket.SLAFirstResponse, Left: 90 * time.Minute,
		Due: time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)}

	merged := base(ticket.MailMerged, requester)
	merged.ToRole = ticket.RoleCustomer
	merged.Data.Ticket.Status = ticket.StatusInProgress
	merged.Data.Merged = &ticket.MergedView{Key: "AURAN1-9", Summary: "ENT inaccessible depuis ce matin"}

	return map[string]ticket.OutboxMail{
		"merged":           merged,
		"sla_warning":      slaWarning,
		"confirmation":     confirmation,
		"agent_new":        agentNew,
		"comment_reply":    reply,
		"comment_internal": note,
		"comment_customer": customer,
		"status":           status,
		"status_agent":     statusAgent,
		"status_closed":    closed,
		"comment_closed":   closedReply,
		"comment_stop":     participant,
		"comment_agent":    agentReply,
		"notice_refused":   refused,
		"notice_held":      held,
	}
}
