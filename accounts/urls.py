"""Account routes, as the seed names them."""

from django.urls import path

from accounts import views
from chatproject import converters

urlpatterns = [
    path("register", views.register, name="register"),
    path("login", views.login, name="login"),
    path("refresh", views.refresh, name="refresh"),
    path("logout", views.logout, name="logout"),
    path("me", views.me, name="me"),
    path("password", views.password_change, name="password-change"),
    path("users", views.users_search, name="users-search"),
    path(f"users/<{converters.ID}:pk>", views.user_detail, name="user-detail"),
]
