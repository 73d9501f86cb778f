package templates

// The portal's texts of satisfaction: the rating page of a closing mail's links, the
// ticket page's part and the agents' results (/agent/satisfaction).
func init() {
	for k, v := range map[string][2]string{
		"nav.satisfaction": {"Satisfaction", "Satisfaction"},

		"dash.satisfaction":      {"Satisfaction moyenne", "Average satisfaction"},
		"dash.satisfaction_over": {"sur %d avis", "over %d ratings"},
		"dash.satisfaction_more": {"détail par service et par agent", "per desk and per agent"},

		"rating.title":        {"Votre avis sur notre réponse", "Your opinion of our answer"},
		"rating.about":        {"Demande %s : %s", "Request %s: %s"},
		"rating.question":     {"Êtes-vous satisfait(e) de la réponse apportée à votre demande ?", "Are you satisfied with the answer given to your request?"},
		"rating.comment":      {"Commentaire", "Comment"},
		"rating.comment_hint": {"Ce qui vous a plu ou manqué : seuls les agents du support le liront (4 000 caractères au plus).", "What you liked or missed: only the support agents will read it (4,000 characters at most)."},
		"rating.save":         {"Enregistrer mon avis", "Save my rating"},
		"rating.change":       {"Modifier mon avis", "Change my rating"},
		"rating.saved":        {"Merci ! Votre avis est enregistré. Vous pouvez encore le modifier ci-dessous.", "Thank you! Your rating is saved. You can still change it below."},
		"rating.current":      {"Vous avez donné votre avis le %s ; vous pouvez le modifier.", "You gave your rating on %s; you can change it."},
		"rating.until":        {"Votre avis peut être donné ou modifié jusqu'au %s.", "Your rating can be given or changed until %s."},
		"rating.err_score":    {"choisissez l'une des cinq réponses", "choose one of the five answers"},
		"rating.err_too_long": {"4 000 caractères au plus", "4,000 characters at most"},
		"rating.err_text":     {"le texte contient des caractères invalides", "the text contains invalid characters"},
		"rating.closed_title": {"Il est trop tard pour donner votre avis", "It is too late to give your rating"},
		"rating.closed_text":  {"Un avis peut être donné ou modifié pendant 7 jours après la fermeture de la demande, et ce délai est passé. Si le problème persiste, répondez au dernier message reçu pour rouvrir la demande.", "A rating can be given or changed for 7 days after the request is closed, and that time is over. If the problem persists, reply to the last message you received to reopen the request."},
		"rating.bad_title":    {"Lien non valide", "Invalid link"},
		"rating.bad_text":     {"Ce lien d'avis n'est pas valide : il a peut-être été modifié ou mal copié. Utilisez le lien du message reçu à la fermeture de votre demande.", "This rating link is not valid: it may have been altered or copied incompletely. Use the link of the mail you received when your request was closed."},
		"rating.ticket_title": {"Satisfaction", "Satisfaction"},
		"rating.ticket_give":  {"Donner mon avis", "Give my rating"},
		"rating.ticket_none":  {"Aucun avis pour l'instant.", "No rating yet."},
		"rating.ticket_entry": {"%s, le %s", "%s, on %s"},
		"rating.ticket_for":   {"pour %s", "for %s"},
		"event.rating":        {"Avis de satisfaction : %s", "Satisfaction rating: %s"},

		"satisfaction.title":       {"Satisfaction des demandeurs", "Requester satisfaction"},
		"satisfaction.intro":       {"Les réponses à la question posée dans le message de fermeture, données pendant la période choisie (par défaut les 30 derniers jours), par service et par agent (l'agent assigné à la fermeture, sinon celui qui a fermé la demande).", "The answers to the question asked in the closing mail, given in the chosen period (by default the last 30 days), per desk and per agent (the agent assigned at closing, else the one who closed the request)."},
		"satisfaction.from":        {"Du", "From"},
		"satisfaction.to":          {"Au", "To"},
		"satisfaction.show":        {"Afficher", "Show"},
		"satisfaction.err_period":  {"Période non valide : deux dates AAAA-MM-JJ, la première avant la seconde. Les 30 derniers jours sont affichés.", "Invalid period: two dates YYYY-MM-DD, the first before the second. The last 30 days are shown."},
		"satisfaction.empty":       {"Aucun avis donné pendant cette période.", "No rating given in this period."},
		"satisfaction.by_desk":     {"Par service", "Per desk"},
		"satisfaction.by_agent":    {"Par agent", "Per agent"},
		"satisfaction.desk":        {"Service", "Desk"},
		"satisfaction.agent":       {"Agent", "Agent"},
		"satisfaction.no_agent":    {"(aucun agent)", "(no agent)"},
		"satisfaction.count":       {"Avis", "Ratings"},
		"satisfaction.average":     {"Moyenne", "Average"},
		"satisfaction.comments":    {"Derniers commentaires", "Latest comments"},
		"satisfaction.no_comments": {"Aucun commentaire pendant cette période.", "No comment in this period."},
		"satisfaction.for":         {"pour %s", "for %s"},
	} {
		webTexts[k] = v
	}
}
