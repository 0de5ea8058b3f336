"""Print "current" when the frontend's database schema is at the newest migration,
else "behind" (the role runs copr-frontend upgrade-db only then).
"""

import sys

from alembic.script import ScriptDirectory

from copr_frontend.migrate import alembic_config, current_revision
from copr_frontend.settings import load_frontend_settings

url = load_frontend_settings(sys.argv[1]).database_url
head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
print("current" if current_revision(url) == head else "behind")
