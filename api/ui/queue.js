// 告警队列: publicity offices watch new alerts arrive live, confirm, re-grade, re-route, call 会商.
import { listPage } from "/ui/list.js";

listPage({ heading: "告警队列", emptyText: "暂无告警" });
