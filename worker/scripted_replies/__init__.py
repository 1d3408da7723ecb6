"""The scripted replies: offline, deterministic, in-character answers composed without a model.

The ``scripted`` backend (``worker/backends/scripted.py``) streams what this package
composes; it is for **development, tests and demos**, so that everything runs on a fresh
machine with no LLM server and every conversation is reproducible. It is not a language
model and does not pretend to understand. It *reads* the message with a few small tables of
patterns — who the user says they are ("I'm Sam", "my name is Sam"), what they say about
themselves ("I love jazz", "I work as a nurse", "I live in Porto"), what they ask (how the
character is, who they are, their opinion of something, advice, anything else) and, failing
that, the message's most salient phrase — and answers that, in the character's voice:

* an opening chosen by intent (greeting, farewell, thanks, apology, hostile, joke, compliment,
  question, small talk) in the character's register (formal or casual), addressing the user by
  name when a name is known (``ReplyContext.user_name`` unless it is a placeholder such as
  ``"user"``, a name the message gives, or a "…'s name is Sam." memory) and never as "user";
* a reaction to what the user said, with their words reflected back, pronouns flipped
  ("my band" → "your band"), linked to the character's own interests and specialty;
* an answer to a question drawn from the character's card (mood, occupation, location,
  interests, specialty, core values), honest about what lies outside the specialty;
* a matched memory retold to the user in the second person ("I remember you love jazz.");
* the mood shown through wording — an interjection, sharper or softer punctuation, a stage
  direction when the mood is strong — rather than announced;
* the character's humour style on jokes, and now and then one of their quirks: a quoted
  catch-phrase spoken, emojis used, or an action shown as a stage direction.

Deterministic by construction: choices are made by plain arithmetic on the turn index, the
message length and the requested ``variant`` (``choice.pick``), never by ``random`` or
``hash()``, so a reply is the same in every process whatever ``PYTHONHASHSEED`` is. A
regenerate asks for the next variant, which moves every choice one step on: consecutive
variants always open differently (each intent has three openings per register, so variants
``n`` and ``n + 3`` may read alike).

Modules: ``compose`` (the entry point, ``compose_reply``, and the order of the parts),
``parts`` (opening, reaction, answer), ``memories`` (a memory retold), ``voice`` (what the
card changes in the wording), ``quirks``, ``tone`` (what the mood changes), ``lines`` (the
phrase tables), ``statements`` and ``questions`` (reading the message), ``names`` (who is
addressed, and how the character calls themselves), ``phrases`` (the message cut into
words, sentences and clauses in linear time), ``choice``.
"""
