"""dozor guard: run-time protection for LLM applications, as a library.

    from dozor.guard import Guard

    guard = Guard.from_policy(None)                 # the default policy
    conv = guard.conversation("chat-42")
    system = guard.prepare_system_prompt("You are a helpful bank assistant.", conv)
    checked = guard.check_input("My email is ann@example.com", conversation=conv)
    if checked.decision == "block": ...             # refuse, checked.reasons says why
    send(checked.text)                              # "My email is <EMAIL_1>"
    answer = guard.check_output(model_answer, conversation=conv)   # placeholders restored

See docs/guard.md. The proxy (`dozor guard serve`) is in `dozor.guard.proxy`.
"""

from dozor.guard.conversation import Conversation, Vault
from dozor.guard.engine import Guard, OutputStream
from dozor.guard.policy import DEFAULT_POLICY, GuardPolicy, GuardPolicyError, load_policy
from dozor.guard.result import Decision, GuardResult, StreamStep

__all__ = [
    "DEFAULT_POLICY",
    "Conversation",
    "Decision",
    "Guard",
    "GuardPolicy",
    "GuardPolicyError",
    "GuardResult",
    "OutputStream",
    "StreamStep",
    "Vault",
    "load_policy",
]
