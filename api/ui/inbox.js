// 待办: a unit accepts or transfers its incidents, records handling and publishes responses.
import { listPage } from "/ui/list.js";

listPage({ heading: "待办", emptyText: "暂无待办事项" });
