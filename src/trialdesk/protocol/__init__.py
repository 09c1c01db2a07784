"""The protocol as data: one TOML file declares a trial; it loads into frozen, validated objects.

>>> from trialdesk.protocol import load_protocol
>>> protocol = load_protocol()          # the embedded IMR protocol
>>> protocol.primary_outcome.code
'gaf_f_m9'
"""

from trialdesk.protocol.hashing import canonical_json
from trialdesk.protocol.loader import EMBEDDED_PROTOCOL, load_protocol, parse_protocol
from trialdesk.protocol.problems import CODES, Problem, ProtocolProblems
from trialdesk.protocol.schema import Protocol

__all__ = [
    "CODES",
    "EMBEDDED_PROTOCOL",
    "Problem",
    "Protocol",
    "ProtocolProblems",
    "canonical_json",
    "load_protocol",
    "parse_protocol",
]
