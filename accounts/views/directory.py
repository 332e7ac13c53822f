"""Other users: search by name or email, and one user by id."""

from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import authenticated_user
from accounts.openapi import users_retrieve_schema, users_search_schema
from accounts.payloads import user_public_payload
from accounts.throttles import UserSearchThrottle


@users_search_schema
@api_view(["GET"])
@throttle_classes([UserSearchThrottle])
def users_search(request: Request) -> Response:
    """The user directory: active users by exact email or username prefix, at most 20, no emails."""
    user = authenticated_user(request)
    found = selectors.user_search(text=request.query_params.get("search", ""), user=user)
    return Response({"users": [user_public_payload(other) for other in found]})


@users_retrieve_schema
@api_view(["GET"])
def user_detail(request: Request, pk: int) -> Response:
    """Yourself or a user you share a chat with: {id, username}."""
    viewer = authenticated_user(request)
    return Response(user_public_payload(selectors.user_get_visible(user_id=pk, viewer=viewer)))
