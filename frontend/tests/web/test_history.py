"""The project's history page: its backend actions (pruning among them), newest first,
in pages, in a fixed number of queries, and never another project's."""

from __future__ import annotations

from copr_common.enums import ActionTypeEnum, BackendResultEnum
from copr_frontend.actions.logic import queue_action
from copr_frontend.testing import Factory, counting_queries


def _prune_action(factory: Factory, project, build_ids: list[int]):  # type: ignore[no-untyped-def]
    action = queue_action(
        factory.session, ActionTypeEnum.delete, "builds", project.id,
        {"ownername": project.ownername, "projectname": project.name,
         "project_dirnames": {}, "build_ids": build_ids, "reason": "prune"},
        project=project, new_value=f"pruned {len(build_ids)} builds",
    )  # fmt: skip
    factory.session.commit()
    return action


def test_history_lists_the_projects_actions(client, factory: Factory) -> None:
    owner = factory.user("owner")
    project = factory.project(owner, "hello")
    other = factory.project(owner, "other")
    queue_action(factory.session, ActionTypeEnum.createrepo, "repository", project.id,
                 {"ownername": "owner", "projectname": "hello"}, project=project)  # fmt: skip
    pruned = _prune_action(factory, project, [7, 9])
    pruned.result = BackendResultEnum.success
    pruned.message = "removed 2 build dirs"
    hidden = _prune_action(factory, other, [1234567])
    factory.session.commit()
    page = client.get("/coprs/owner/hello/history/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="action-{pruned.id}"' in html
    assert "pruned 2 builds (builds 7, 9)" in html
    assert "removed 2 build dirs" in html
    assert "createrepo repository" in html
    assert f'id="action-{hidden.id}"' not in html
    assert "1234567" not in html
    assert html.index(f"action-{pruned.id}") < html.index("createrepo repository")
    assert client.get("/coprs/owner/hello/history/?before=x").status_code == 400


def test_history_pages_and_queries(app, client, factory: Factory) -> None:
    owner = factory.user("owner")
    factory.project(owner, "small")
    large = factory.project(owner, "large")
    actions = [_prune_action(factory, large, [n]) for n in range(60)]
    with counting_queries(app) as few:
        client.get("/coprs/owner/small/history/")
    with counting_queries(app) as many:
        first = client.get("/coprs/owner/large/history/").get_data(as_text=True)
    assert len(few) == len(many)

    def row(action) -> str:  # type: ignore[no-untyped-def]
        return f'id="action-{action.id}"'

    # 50 a page: the newest 50 first, then the 10 older ones.
    assert row(actions[-1]) in first
    assert row(actions[10]) in first
    assert row(actions[9]) not in first
    assert 'rel="next"' in first
    older = client.get(f"/coprs/owner/large/history/?before={actions[10].id}")
    html = older.get_data(as_text=True)
    assert row(actions[9]) in html
    assert row(actions[0]) in html
    assert row(actions[10]) not in html
    assert 'rel="next"' not in html
