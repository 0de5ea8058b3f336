"""Initial schema.

While nothing is deployed this is the only revision and it is edited in place when the
models change (regenerate it with autogenerate against an empty database).  Every table
with an integer ``id`` is ``sqlite_autoincrement``: on SQLite, ids must never be reused
(autogenerate does not write that option; add it by hand).

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blocked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["blocked_by_id"],
            ["batches.id"],
            name=op.f("fk_batches_blocked_by_id_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batches_blocked_by_id"), ["blocked_by_id"], unique=False
        )

    op.create_table(
        "cancel_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancel_requests")),
        sa.UniqueConstraint("what", name=op.f("uq_cancel_requests_what")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "mock_chroots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("os_release", sa.String(length=50), nullable=False),
        sa.Column("os_version", sa.String(length=50), nullable=False),
        sa.Column("arch", sa.String(length=50), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("distgit_branch", sa.String(length=50), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mock_chroots")),
        sa.UniqueConstraint("name", name=op.f("uq_mock_chroots_name")),
        sa.UniqueConstraint(
            "os_release",
            "os_version",
            "arch",
            name=op.f("uq_mock_chroots_os_release_os_version_arch"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("mock_chroots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mock_chroots_distgit_branch"), ["distgit_branch"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mock_chroots_is_active"), ["is_active"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mail", sa.String(length=200), nullable=False),
        sa.Column("email_notifications", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("proven", sa.Boolean(), nullable=False),
        sa.Column("api_login", sa.String(length=64), nullable=True),
        sa.Column("api_token_hash", sa.String(length=64), nullable=True),
        sa.Column("api_token_expires_on", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("api_login", name=op.f("uq_users_api_login")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "group_memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_group_memberships")),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_memberships_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("ownername", sa.String(length=101), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("homepage", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("additional_repos", sa.JSON(), nullable=False),
        sa.Column("enable_net", sa.Boolean(), nullable=False),
        sa.Column("auto_prune", sa.Boolean(), nullable=False),
        sa.Column("keep_builds", sa.Integer(), nullable=True),
        sa.Column("unlisted_on_hp", sa.Boolean(), nullable=False),
        sa.Column("devel_mode", sa.Boolean(), nullable=False),
        sa.Column("persistent", sa.Boolean(), nullable=False),
        sa.Column("bootstrap", sa.String(length=20), nullable=False),
        sa.Column("isolation", sa.String(length=20), nullable=False),
        sa.Column("module_hotfixes", sa.Boolean(), nullable=False),
        sa.Column("runtime_dependencies", sa.JSON(), nullable=False),
        sa.Column("delete_after", sa.Integer(), nullable=True),
        sa.Column("appstream", sa.Boolean(), nullable=False),
        sa.Column("packit_forge_projects_allowed", sa.JSON(), nullable=False),
        sa.Column("repo_priority", sa.Integer(), nullable=True),
        sa.Column("follow_fedora_branching", sa.Boolean(), nullable=False),
        sa.Column("fedora_review", sa.Boolean(), nullable=False),
        sa.Column("require_real_buildroot", sa.Boolean(), nullable=False),
        sa.Column("email_notifications", sa.Boolean(), nullable=False),
        sa.Column("rpmlint_fail_on_errors", sa.Boolean(), nullable=False),
        sa.Column("rebuild_dependents", sa.String(length=20), nullable=False),
        sa.Column("storage_usage", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("webhook_secret", sa.String(length=64), nullable=False),
        sa.Column("forked_from_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forked_from_id"],
            ["projects.id"],
            name=op.f("fk_projects_forked_from_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_projects_group_id_groups")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_projects_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("ownername", "name", name=op.f("uq_projects_ownername_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_projects_delete_after"), ["delete_after"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_projects_forked_from_id"), ["forked_from_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_projects_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_ownername"), ["ownername"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_projects_unlisted_on_hp"), ["unlisted_on_hp"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_projects_user_id"), ["user_id"], unique=False)

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_type", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=30), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("old_value", sa.String(length=300), nullable=True),
        sa.Column("new_value", sa.String(length=300), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("result", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_actions_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actions_action_type"), ["action_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_priority"), ["priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_result"), ["result"], unique=False)

    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_type", sa.Integer(), nullable=False),
        sa.Column("source_json", sa.JSON(), nullable=False),
        sa.Column("webhook_rebuild", sa.Boolean(), nullable=False),
        sa.Column("max_builds", sa.Integer(), nullable=False),
        sa.Column("chroot_denylist", sa.JSON(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=True),
        sa.Column("builder_tags", sa.JSON(), nullable=False),
        sa.Column("upstream_url", sa.String(length=1000), nullable=True),
        sa.Column("spec_commit", sa.String(length=64), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_packages_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_packages_project_id_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_packages_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_packages_source_type"), ["source_type"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_packages_webhook_rebuild"), ["webhook_rebuild"], unique=False
        )

    op.create_table(
        "project_chroots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("mock_chroot_id", sa.Integer(), nullable=False),
        sa.Column("buildroot_pkgs", sa.JSON(), nullable=False),
        sa.Column("repos", sa.JSON(), nullable=False),
        sa.Column("comps_name", sa.String(length=200), nullable=True),
        sa.Column("comps", sa.Text(), nullable=True),
        sa.Column("with_opts", sa.JSON(), nullable=False),
        sa.Column("without_opts", sa.JSON(), nullable=False),
        sa.Column("module_toggle", sa.JSON(), nullable=False),
        sa.Column("isolation", sa.String(length=20), nullable=False),
        sa.Column("bootstrap", sa.String(length=20), nullable=False),
        sa.Column("bootstrap_image", sa.String(length=300), nullable=True),
        sa.Column("builder_tags", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("delete_after", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mock_chroot_id"],
            ["mock_chroots.id"],
            name=op.f("fk_project_chroots_mock_chroot_id_mock_chroots"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_chroots_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_chroots")),
        sa.UniqueConstraint(
            "project_id",
            "mock_chroot_id",
            name=op.f("uq_project_chroots_project_id_mock_chroot_id"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("project_chroots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_chroots_delete_after"), ["delete_after"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_project_chroots_deleted"), ["deleted"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_project_chroots_mock_chroot_id"), ["mock_chroot_id"], unique=False
        )

    op.create_table(
        "project_dirs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_dirs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_dirs")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_project_dirs_project_id_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("project_dirs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_dirs_name"), ["name"], unique=False)

    op.create_table(
        "project_permissions",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("copr_builder", sa.Integer(), nullable=False),
        sa.Column("copr_admin", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_permissions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_permissions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_permissions")),
    )
    with op.batch_alter_table("project_permissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_permissions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "rebuild_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("trigger_build_id", sa.Integer(), nullable=False),
        sa.Column("cycles", sa.JSON(), nullable=False),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_rebuild_waves_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebuild_waves")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("rebuild_waves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rebuild_waves_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("dir_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("resubmitted_from_id", sa.Integer(), nullable=True),
        sa.Column("triggered_by_id", sa.Integer(), nullable=True),
        sa.Column("rebuild_wave_id", sa.Integer(), nullable=True),
        sa.Column("provides_changed", sa.JSON(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("source_status", sa.Integer(), nullable=False),
        sa.Column("canceled", sa.Boolean(), nullable=False),
        sa.Column("fail_type", sa.Integer(), nullable=False),
        sa.Column("fail_reason", sa.Text(), nullable=True),
        sa.Column("source_type", sa.Integer(), nullable=False),
        sa.Column("source_json", sa.JSON(), nullable=False),
        sa.Column("source_results", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("pkg_name", sa.String(length=200), nullable=True),
        sa.Column("pkg_version", sa.String(length=200), nullable=True),
        sa.Column("srpm_url", sa.Text(), nullable=True),
        sa.Column("result_dir", sa.String(length=200), nullable=False),
        sa.Column("source_result_size", sa.BigInteger(), nullable=True),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("enable_net", sa.Boolean(), nullable=False),
        sa.Column("is_background", sa.Boolean(), nullable=False),
        sa.Column("queue_key", sa.String(length=400), nullable=False),
        sa.Column("memory_reqs", sa.Integer(), nullable=False),
        sa.Column("bootstrap", sa.String(length=20), nullable=True),
        sa.Column("bootstrap_image", sa.String(length=300), nullable=True),
        sa.Column("isolation", sa.String(length=20), nullable=True),
        sa.Column("appstream", sa.Boolean(), nullable=False),
        sa.Column("scm_object_id", sa.String(length=200), nullable=True),
        sa.Column("scm_object_type", sa.String(length=50), nullable=True),
        sa.Column("scm_object_url", sa.Text(), nullable=True),
        sa.Column("submitted_on", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Integer(), nullable=True),
        sa.Column("ended_on", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_builds_batch_id_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dir_id"],
            ["project_dirs.id"],
            name=op.f("fk_builds_dir_id_project_dirs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_builds_package_id_packages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_builds_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resubmitted_from_id"],
            ["builds.id"],
            name=op.f("fk_builds_resubmitted_from_id_builds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["triggered_by_id"],
            ["builds.id"],
            name=op.f("fk_builds_triggered_by_id_builds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rebuild_wave_id"],
            ["rebuild_waves.id"],
            name=op.f("fk_builds_rebuild_wave_id_rebuild_waves"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_builds_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_builds_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_canceled"), ["canceled"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_dir_id"), ["dir_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_ended_on"), ["ended_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_builds_is_background"), ["is_background"], unique=False
        )
        batch_op.create_index(
            "ix_builds_package_id_dir_id_id", ["package_id", "dir_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_builds_pkg_name"), ["pkg_name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_builds_rebuild_wave_id"), ["rebuild_wave_id"], unique=False
        )
        batch_op.create_index("ix_builds_project_id_id", ["project_id", "id"], unique=False)
        batch_op.create_index(
            "ix_builds_project_id_state_id", ["project_id", "state", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_builds_source_status"), ["source_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_builds_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_submitted_on"), ["submitted_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "ix_builds_unfinished_batch_id",
            ["batch_id"],
            unique=False,
            postgresql_where=sa.text("state NOT IN (0, 1, 2, 5, 8)"),
            sqlite_where=sa.text("state NOT IN (0, 1, 2, 5, 8)"),
        )
        batch_op.create_index(
            "ix_builds_queue",
            ["queue_key", "is_background", "id"],
            unique=False,
            postgresql_where=sa.text("source_status IN (3, 4, 6)"),
            sqlite_where=sa.text("source_status IN (3, 4, 6)"),
        )

    op.create_table(
        "package_dependencies",
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("mock_chroot_id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=True),
        sa.Column("provides", sa.JSON(), nullable=False),
        sa.Column("requires", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_package_dependencies_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mock_chroot_id"],
            ["mock_chroots.id"],
            name=op.f("fk_package_dependencies_mock_chroot_id_mock_chroots"),
        ),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_package_dependencies_build_id_builds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "package_id", "mock_chroot_id", name=op.f("pk_package_dependencies")
        ),
    )
    op.create_table(
        "build_chroot_exclusions",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("mock_chroot_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_chroot_exclusions_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mock_chroot_id"],
            ["mock_chroots.id"],
            name=op.f("fk_build_chroot_exclusions_mock_chroot_id_mock_chroots"),
        ),
        sa.PrimaryKeyConstraint(
            "build_id", "mock_chroot_id", name=op.f("pk_build_chroot_exclusions")
        ),
    )
    op.create_table(
        "build_chroots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("mock_chroot_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("git_hash", sa.String(length=64), nullable=True),
        sa.Column("started_on", sa.Integer(), nullable=True),
        sa.Column("ended_on", sa.Integer(), nullable=True),
        sa.Column("result_dir", sa.String(length=200), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("fail_reason", sa.Text(), nullable=True),
        sa.Column("buildroot", sa.String(length=20), nullable=True),
        sa.Column("buildrequires_not_installed", sa.JSON(), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("queue_key", sa.String(length=420), nullable=False),
        sa.Column("is_background", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_chroots_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mock_chroot_id"],
            ["mock_chroots.id"],
            name=op.f("fk_build_chroots_mock_chroot_id_mock_chroots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_chroots")),
        sa.UniqueConstraint(
            "build_id", "mock_chroot_id", name=op.f("uq_build_chroots_build_id_mock_chroot_id")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("build_chroots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_build_chroots_ended_on"), ["ended_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_build_chroots_mock_chroot_id"), ["mock_chroot_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_build_chroots_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_build_chroots_queue",
            ["queue_key", "is_background", "build_id", "id"],
            unique=False,
            postgresql_where=sa.text("status IN (3, 4, 6)"),
            sqlite_where=sa.text("status IN (3, 4, 6)"),
        )

    # Forge webhooks and outbound build notifications.
    op.create_table(
        "webhook_forge_secrets",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_webhook_forge_secrets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_webhook_forge_secrets")),
    )
    op.create_table(
        "notification_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_notification_endpoints_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_endpoints")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notification_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_endpoints_enabled"), ["enabled"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_endpoints_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("chroot", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_on", sa.Integer(), nullable=True),
        sa.Column("last_attempt_on", sa.Integer(), nullable=True),
        sa.Column("delivered_on", sa.Integer(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notification_endpoints.id"],
            name=op.f("fk_notification_deliveries_endpoint_id_notification_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id",
            "event",
            "build_id",
            "chroot",
            name=op.f("uq_notification_deliveries_endpoint_id_event_build_id_chroot"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        for column in ("build_id", "created_on", "endpoint_id", "next_attempt_on", "state"):
            batch_op.create_index(
                batch_op.f(f"ix_notification_deliveries_{column}"), [column], unique=False
            )

    op.create_table(
        "email_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_on", sa.Integer(), nullable=True),
        sa.Column("last_attempt_on", sa.Integer(), nullable=True),
        sa.Column("delivered_on", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_deliveries")),
        sa.UniqueConstraint(
            "build_id", "recipient", name=op.f("uq_email_deliveries_build_id_recipient")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("email_deliveries", schema=None) as batch_op:
        for column in ("build_id", "created_on", "next_attempt_on", "state"):
            batch_op.create_index(
                batch_op.f(f"ix_email_deliveries_{column}"), [column], unique=False
            )

    op.create_table(
        "owner_quotas",
        sa.Column("ownername", sa.String(length=101), nullable=False),
        sa.Column("limit_bytes", sa.BigInteger(), nullable=True),
        sa.Column("set_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ownername", name=op.f("pk_owner_quotas")),
    )

    # Download statistics, counted from the results server's access log.
    op.create_table(
        "download_counts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("chroot", sa.String(length=100), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_download_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "chroot", "package", "kind", "day", name=op.f("pk_download_counts")
        ),
    )
    op.create_table(
        "download_log_positions",
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_download_log_positions")),
    )
    with op.batch_alter_table("download_log_positions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_log_positions_inode"), ["inode"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("download_log_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_log_positions_inode"))
    op.drop_table("download_log_positions")
    op.drop_table("download_counts")
    op.drop_table("owner_quotas")
    with op.batch_alter_table("email_deliveries", schema=None) as batch_op:
        for column in ("build_id", "created_on", "next_attempt_on", "state"):
            batch_op.drop_index(batch_op.f(f"ix_email_deliveries_{column}"))
    op.drop_table("email_deliveries")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        for column in ("build_id", "created_on", "endpoint_id", "next_attempt_on", "state"):
            batch_op.drop_index(batch_op.f(f"ix_notification_deliveries_{column}"))
    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notification_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_endpoints_project_id"))
        batch_op.drop_index(batch_op.f("ix_notification_endpoints_enabled"))
    op.drop_table("notification_endpoints")
    op.drop_table("webhook_forge_secrets")

    with op.batch_alter_table("build_chroots", schema=None) as batch_op:
        batch_op.drop_index("ix_build_chroots_queue")
        batch_op.drop_index(batch_op.f("ix_build_chroots_status"))
        batch_op.drop_index(batch_op.f("ix_build_chroots_mock_chroot_id"))
        batch_op.drop_index(batch_op.f("ix_build_chroots_ended_on"))

    op.drop_table("build_chroots")
    op.drop_table("build_chroot_exclusions")
    op.drop_table("package_dependencies")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_index("ix_builds_queue")
        batch_op.drop_index("ix_builds_unfinished_batch_id")
        batch_op.drop_index(batch_op.f("ix_builds_user_id"))
        batch_op.drop_index(batch_op.f("ix_builds_submitted_on"))
        batch_op.drop_index(batch_op.f("ix_builds_state"))
        batch_op.drop_index(batch_op.f("ix_builds_source_status"))
        batch_op.drop_index("ix_builds_project_id_state_id")
        batch_op.drop_index("ix_builds_project_id_id")
        batch_op.drop_index(batch_op.f("ix_builds_rebuild_wave_id"))
        batch_op.drop_index(batch_op.f("ix_builds_pkg_name"))
        batch_op.drop_index("ix_builds_package_id_dir_id_id")
        batch_op.drop_index(batch_op.f("ix_builds_is_background"))
        batch_op.drop_index(batch_op.f("ix_builds_ended_on"))
        batch_op.drop_index(batch_op.f("ix_builds_dir_id"))
        batch_op.drop_index(batch_op.f("ix_builds_canceled"))
        batch_op.drop_index(batch_op.f("ix_builds_batch_id"))

    op.drop_table("builds")
    with op.batch_alter_table("rebuild_waves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rebuild_waves_project_id"))
    op.drop_table("rebuild_waves")
    with op.batch_alter_table("project_permissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_permissions_user_id"))

    op.drop_table("project_permissions")
    with op.batch_alter_table("project_dirs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_dirs_name"))

    op.drop_table("project_dirs")
    with op.batch_alter_table("project_chroots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_chroots_mock_chroot_id"))
        batch_op.drop_index(batch_op.f("ix_project_chroots_deleted"))
        batch_op.drop_index(batch_op.f("ix_project_chroots_delete_after"))

    op.drop_table("project_chroots")
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packages_webhook_rebuild"))
        batch_op.drop_index(batch_op.f("ix_packages_source_type"))
        batch_op.drop_index(batch_op.f("ix_packages_name"))

    op.drop_table("packages")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actions_result"))
        batch_op.drop_index(batch_op.f("ix_actions_project_id"))
        batch_op.drop_index(batch_op.f("ix_actions_priority"))
        batch_op.drop_index(batch_op.f("ix_actions_action_type"))

    op.drop_table("actions")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_user_id"))
        batch_op.drop_index(batch_op.f("ix_projects_unlisted_on_hp"))
        batch_op.drop_index(batch_op.f("ix_projects_ownername"))
        batch_op.drop_index(batch_op.f("ix_projects_name"))
        batch_op.drop_index(batch_op.f("ix_projects_group_id"))
        batch_op.drop_index(batch_op.f("ix_projects_forked_from_id"))
        batch_op.drop_index(batch_op.f("ix_projects_delete_after"))

    op.drop_table("projects")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_memberships_group_id"))

    op.drop_table("group_memberships")
    op.drop_table("users")
    with op.batch_alter_table("mock_chroots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mock_chroots_is_active"))
        batch_op.drop_index(batch_op.f("ix_mock_chroots_distgit_branch"))

    op.drop_table("mock_chroots")
    op.drop_table("groups")
    op.drop_table("cancel_requests")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batches_blocked_by_id"))

    op.drop_table("batches")
