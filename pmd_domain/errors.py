"""Domain exceptions. Each has a stable ``code`` that channels translate into a kind message."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the participation process was not met."""

    code = "error.generic"

    def __init__(self, message: str = "", **params: object):
        self.params = params
        super().__init__(message or self.code)


class NotFound(DomainError):
    code = "error.not_found"


class ExerciseClosed(DomainError):
    code = "error.closed"


class ConsentRequired(DomainError):
    code = "error.consent_required"


class InvalidChoice(DomainError):
    code = "error.invalid_choice"


class TextTooShort(DomainError):
    code = "error.text_too_short"


class TextTooLong(DomainError):
    code = "error.text_too_long"


class TextNotReadable(DomainError):
    code = "error.text_not_readable"


class LimitReached(DomainError):
    code = "error.limit_reached"


class OwnProposal(DomainError):
    code = "error.own_proposal"


class AlreadyJudged(DomainError):
    code = "error.already_judged"


class NotPublished(DomainError):
    code = "error.not_published"


class NotAllowed(DomainError):
    code = "error.not_allowed"


class Erased(DomainError):
    code = "error.erased"


class LoginLinkInvalid(DomainError):
    code = "error.login_link_invalid"


class NotADuplicate(DomainError):
    code = "error.duplicate_invalid"


class NoParticipation(DomainError):
    code = "error.no_participation"


class CertificateRevoked(DomainError):
    code = "error.certificate_revoked"


class InvalidName(DomainError):
    code = "error.invalid_name"


class AlreadyModerated(DomainError):
    code = "error.already_moderated"


class ConfiguredAdmin(DomainError):
    code = "error.configured_admin"


class SelfRemoval(DomainError):
    code = "error.self_removal"


class InvalidEmail(DomainError):
    code = "error.invalid_email"


class InvalidAudience(DomainError):
    code = "error.broadcast_audience"


class InvalidCampaign(DomainError):
    code = "error.broadcast_content"


class WrongCampaignState(DomainError):
    code = "error.broadcast_state"


class AddressLimit(DomainError):
    """Too many of one action from one client address in the consultation's window."""

    code = "error.address_limit"


class CodeMistyped(DomainError):
    code = "error.code_mistyped"


class CodeUsed(DomainError):
    code = "error.code_used"


class CodeExpired(DomainError):
    code = "error.code_expired"


class TooManyAttempts(DomainError):
    code = "error.code_attempts"


class AlreadyVerified(DomainError):
    code = "error.already_verified"
