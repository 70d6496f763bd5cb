-- After-sales retention (issue 6): appointments, recalls and service campaigns, follow-up
-- calls with questionnaires, complaint timers, do-not-contact blocks, services done
-- elsewhere, and the nightly maintenance prediction. Same dialect tokens as
-- 0001_dealer_model.sql.

-- Outbound calls: how often the customer was tried, and what the task is about.
ALTER TABLE task ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE task ADD COLUMN work_order_id BIGINT REFERENCES work_order(id);
ALTER TABLE task ADD COLUMN sales_order_id BIGINT REFERENCES sales_order(id);
ALTER TABLE task ADD COLUMN complaint_id BIGINT REFERENCES complaint(id);
ALTER TABLE task ADD COLUMN policy_id BIGINT REFERENCES insurance_policy(id);
CREATE INDEX task_vehicle ON task (vehicle_id, kind);
CREATE INDEX task_role ON task (store_id, role, status, due_on);

-- Complaints: channel, the work order, the three timers' milestones, escalation and the
-- customer's satisfaction with the resolution.
ALTER TABLE complaint ADD COLUMN channel TEXT NOT NULL DEFAULT 'phone';
ALTER TABLE complaint ADD COLUMN work_order_id BIGINT REFERENCES work_order(id);
ALTER TABLE complaint ADD COLUMN contacted_at {{ts}};
ALTER TABLE complaint ADD COLUMN outcome_at {{ts}};
ALTER TABLE complaint ADD COLUMN closed_at {{ts}};
-- the last SLA stage (contact | outcome | close) that was escalated
ALTER TABLE complaint ADD COLUMN escalated TEXT;
ALTER TABLE complaint ADD COLUMN satisfaction TEXT;
ALTER TABLE complaint ADD COLUMN follow_up_call_id BIGINT;
CREATE INDEX complaint_store ON complaint (store_id, status, opened_at);

-- "Do not contact" (per purpose: service | marketing | all; per vehicle when vehicle_id
-- is set) and wrong numbers. Lifted, not deleted, so the ledger keeps its history.
CREATE TABLE contact_block (
    id {{pk}},
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    vehicle_id BIGINT REFERENCES vehicle(id),
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at {{ts}} NOT NULL,
    created_by BIGINT REFERENCES staff(id),
    lifted_at {{ts}}
);
CREATE INDEX contact_block_customer ON contact_block (customer_id);

-- The owner told us the car was serviced elsewhere (and where).
CREATE TABLE service_elsewhere (
    id {{pk}},
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    serviced_on {{date}} NOT NULL,
    place TEXT NOT NULL,
    recorded_by BIGINT REFERENCES staff(id),
    recorded_at {{ts}} NOT NULL,
    task_id BIGINT REFERENCES task(id)
);
CREATE INDEX service_elsewhere_vehicle ON service_elsewhere (vehicle_id, serviced_on);

CREATE TABLE appointment (
    id {{pk}},
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    -- a work-order kind: first_service, maintenance, repair, …
    service TEXT NOT NULL,
    scheduled_on {{date}} NOT NULL,
    -- HH:MM, China time
    slot TEXT NOT NULL DEFAULT '09:00',
    advisor_id BIGINT REFERENCES staff(id),
    -- booked | arrived | no_show | cancelled
    status TEXT NOT NULL,
    note TEXT,
    task_id BIGINT REFERENCES task(id),
    created_by BIGINT REFERENCES staff(id),
    created_at {{ts}} NOT NULL,
    arrived_at {{ts}}
);
CREATE INDEX appointment_store ON appointment (store_id, scheduled_on, status);
CREATE INDEX appointment_vehicle ON appointment (vehicle_id, status);

-- Recalls (召回) and service campaigns, and the vehicles they cover.
CREATE TABLE campaign (
    id {{pk}},
    brand_id BIGINT REFERENCES brand(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- recall | service_campaign
    kind TEXT NOT NULL,
    starts_on {{date}} NOT NULL,
    ends_on {{date}},
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE campaign_vehicle (
    campaign_id BIGINT NOT NULL REFERENCES campaign(id),
    vehicle_id BIGINT NOT NULL REFERENCES vehicle(id),
    done_on {{date}},
    PRIMARY KEY (campaign_id, vehicle_id)
){{no_rowid}};
CREATE INDEX campaign_vehicle_vehicle ON campaign_vehicle (vehicle_id);

-- Questionnaire templates (group-wide when store_id is NULL) for follow-up calls.
CREATE TABLE questionnaire (
    id {{pk}},
    store_id BIGINT REFERENCES store(id),
    -- delivery_follow_up | service_follow_up | complaint_follow_up
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at {{ts}} NOT NULL
);
CREATE INDEX questionnaire_kind ON questionnaire (kind, active);
CREATE TABLE questionnaire_question (
    id {{pk}},
    questionnaire_id BIGINT NOT NULL REFERENCES questionnaire(id),
    position BIGINT NOT NULL,
    text TEXT NOT NULL,
    -- five | ten | yes_no | satisfaction (dealerbase-domain AnswerScale)
    scale TEXT NOT NULL,
    weight {{real}} NOT NULL DEFAULT 1,
    required BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX questionnaire_question_q ON questionnaire_question (questionnaire_id, position);

-- A follow-up call (回访) with its answers and score (SSI/CSI scale, 0–1000), and whom it
-- rates: the service advisor of the work order or the consultant of the sale.
CREATE TABLE follow_up_call (
    id {{pk}},
    task_id BIGINT REFERENCES task(id),
    store_id BIGINT NOT NULL REFERENCES store(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    kind TEXT NOT NULL,
    questionnaire_id BIGINT REFERENCES questionnaire(id),
    staff_id BIGINT REFERENCES staff(id),
    called_at {{ts}} NOT NULL,
    called_on {{date}} NOT NULL,
    completed BOOLEAN NOT NULL,
    points {{real}},
    satisfied BOOLEAN NOT NULL DEFAULT FALSE,
    dissatisfied BOOLEAN NOT NULL DEFAULT FALSE,
    advisor_id BIGINT REFERENCES staff(id),
    consultant_id BIGINT REFERENCES staff(id),
    work_order_id BIGINT REFERENCES work_order(id),
    sales_order_id BIGINT REFERENCES sales_order(id),
    complaint_id BIGINT REFERENCES complaint(id),
    opened_complaint_id BIGINT REFERENCES complaint(id),
    comment TEXT
);
CREATE INDEX follow_up_call_store ON follow_up_call (store_id, called_on);
CREATE INDEX follow_up_call_customer ON follow_up_call (customer_id);
CREATE TABLE follow_up_answer (
    call_id BIGINT NOT NULL REFERENCES follow_up_call(id),
    question_id BIGINT NOT NULL REFERENCES questionnaire_question(id),
    value BIGINT NOT NULL,
    PRIMARY KEY (call_id, question_id)
){{no_rowid}};

-- The nightly maintenance prediction: one row per vehicle and day, readable by the KPI
-- page and the arrival view without recomputing 1.5M cars. `complete` turns true in the
-- run's last write; older runs are deleted after a complete one.
CREATE TABLE service_status_run (
    as_of {{date}} PRIMARY KEY,
    started_at {{ts}} NOT NULL,
    finished_at {{ts}},
    complete BOOLEAN NOT NULL DEFAULT FALSE,
    vehicles BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE vehicle_service_status (
    as_of {{date}} NOT NULL,
    vehicle_id BIGINT NOT NULL,
    store_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    daily_km {{real}} NOT NULL,
    rate_source TEXT NOT NULL,
    next_service_no BIGINT NOT NULL,
    next_due_on {{date}} NOT NULL,
    next_due_rule TEXT NOT NULL,
    next_due_km BIGINT NOT NULL,
    km_today BIGINT NOT NULL,
    first_due_on {{date}} NOT NULL,
    first_closes_on {{date}} NOT NULL,
    first_status TEXT NOT NULL,
    second_due_on {{date}} NOT NULL,
    second_closes_on {{date}} NOT NULL,
    second_status TEXT NOT NULL,
    PRIMARY KEY (as_of, vehicle_id)
){{no_rowid}};
CREATE INDEX vehicle_service_status_first ON vehicle_service_status (as_of, store_id, first_closes_on);
CREATE INDEX vehicle_service_status_second ON vehicle_service_status (as_of, store_id, second_closes_on);

-- The daily job's set-based reads select by these dates.
CREATE INDEX work_order_settled ON work_order (settled_on);
CREATE INDEX aftersales_order_delivered ON sales_order (delivered_on);
CREATE INDEX insurance_policy_end ON insurance_policy (end_date);
CREATE INDEX insurance_policy_renewal ON insurance_policy (renewal_of);
CREATE INDEX vehicle_inspection_due ON vehicle (inspection_due);
CREATE INDEX vehicle_warranty_end ON vehicle (warranty_end_date);
CREATE INDEX vehicle_delivery ON vehicle (delivery_date);
CREATE INDEX customer_birthday ON customer (birthday);

-- Group-wide default questionnaires; a store (or the group) replaces them with its own.
INSERT INTO questionnaire (store_id, kind, name, active, created_at)
    VALUES (NULL, 'service_follow_up', '维修保养回访（默认）', TRUE, '2026-01-01T00:00:00+00:00');
INSERT INTO questionnaire (store_id, kind, name, active, created_at)
    VALUES (NULL, 'delivery_follow_up', '交车回访（默认）', TRUE, '2026-01-01T00:00:00+00:00');
INSERT INTO questionnaire (store_id, kind, name, active, created_at)
    VALUES (NULL, 'complaint_follow_up', '投诉回访（默认）', TRUE, '2026-01-01T00:00:00+00:00');
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 1, '您对本次维修保养的整体满意度如何？', 'satisfaction', 3, TRUE FROM questionnaire WHERE kind = 'service_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 2, '服务顾问的接待与解释是否清楚？', 'five', 1, TRUE FROM questionnaire WHERE kind = 'service_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 3, '车辆是否按约定时间交付？', 'yes_no', 1, TRUE FROM questionnaire WHERE kind = 'service_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 4, '您向亲友推荐本店的可能性有多大？', 'ten', 1, FALSE FROM questionnaire WHERE kind = 'service_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 1, '您对购车及交车过程的整体满意度如何？', 'satisfaction', 3, TRUE FROM questionnaire WHERE kind = 'delivery_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 2, '销售顾问是否详细讲解了车辆功能与保养知识？', 'five', 1, TRUE FROM questionnaire WHERE kind = 'delivery_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 3, '交车时车辆是否整洁、无瑕疵？', 'yes_no', 1, TRUE FROM questionnaire WHERE kind = 'delivery_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 4, '您向亲友推荐本店的可能性有多大？', 'ten', 1, FALSE FROM questionnaire WHERE kind = 'delivery_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 1, '您对投诉的处理结果是否满意？', 'satisfaction', 3, TRUE FROM questionnaire WHERE kind = 'complaint_follow_up' AND store_id IS NULL;
INSERT INTO questionnaire_question (questionnaire_id, position, text, scale, weight, required)
    SELECT id, 2, '处理是否及时？', 'five', 1, TRUE FROM questionnaire WHERE kind = 'complaint_follow_up' AND store_id IS NULL;
