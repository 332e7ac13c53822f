"""Steps that span apps, as Zulip's zerver/actions: each knows every app it touches, so the apps need not
know each other (accounts imports neither chats nor messaging; deleting a user reaches both)."""
