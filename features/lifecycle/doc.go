// Package lifecycle assigns each customer a current lifecycle stage from
// their features, by ordered rules with configurable thresholds: the first
// rule that matches wins.
//
//	prospect     interactions, never a purchase                         获客期（潜在客户）
//	churned      no purchase for more than ChurnDays (180)              流失
//	dormant      no purchase for more than DormantDays (90)             沉睡
//	reactivated  purchased in the last RecentDays (90) after a gap of
//	             more than ReactivationGapDays (180)                    回流
//	new          first purchase in the last NewDays (90)                新客
//	declining    in each of the last DeclineMonths (3) full calendar
//	             months, interactions below DeclineRatio (80 %) of the
//	             customer's own monthly mean over the earlier months;
//	             needs MinDeclineTenureMonths (6) months of tenure       衰退期
//	mature       tenure ≥ MatureTenureDays (365) and ≥ MaturePurchaseDays
//	             (4) purchase days in the last 365 days                 成熟期
//	growing      every other active buyer                               成长期
//
// "In the last N days" is days_since < N, the N days ending on the as-of day.
// The five stages of Chinese CRM practice map onto the codes as 获客 →
// prospect/new, 成长 → growing/reactivated, 成熟 → mature, 衰退 →
// declining/dormant, 流失 → churned.
package lifecycle
