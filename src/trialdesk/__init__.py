"""trialdesk: run a randomised, assessor-blinded, multi-centre trial end to end."""

__version__ = "0.1.0"
